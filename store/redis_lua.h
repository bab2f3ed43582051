/*
 * redis_lua.h - the Lua scripts of the Redis store (redis_lua.c): every
 * change to a lease's keys is one of them, so that Redis runs it whole.
 *
 * The keys of lease NAME share one hash tag, so that all of them live in
 * one Redis Cluster slot; a script reaches a waiter's key by its name,
 * built from its own KEYS[1] (PREFIX:{NAME}:lock without "lock"):
 *
 *   PREFIX:{NAME}:lock     the leader's value (its token line "token=
 *                          PID:RANDOM64" and its holder value), PX a lease
 *   PREFIX:{NAME}:fence    INCR per leader: the term (LEADERRUN_TERM)
 *   PREFIX:{NAME}:held     the value of whoever may still run a command
 *                          under this lease: set with the lock, deleted
 *                          only by a clean end (see redis.c)
 *   PREFIX:{NAME}:ended    the token line of the last clean end
 *   PREFIX:{NAME}:queue    the waiters: a sorted set of their tokens
 *                          ("PID:RANDOM64"), scored by their ticket
 *   PREFIX:{NAME}:ticket   INCR per waiter that joins: first come, first
 *                          served
 *   PREFIX:{NAME}:w:TOKEN  a waiter's value, PX a lease, refreshed while it
 *                          waits: a waiter whose key is gone is dead and
 *                          leaves the queue at the next script that meets
 *                          it at the head
 *
 * and one channel per waiter, PREFIX:{NAME}:wake:TOKEN, on which a clean
 * end (or the first waiter leaving a free lock) wakes the first live waiter
 * and only it.
 */
#ifndef REDIS_LUA_H
#define REDIS_LUA_H

/*
 * ACQUIRE: KEYS lock, fence, held, ended, queue, ticket, our waiter key;
 * A lock that holds our token was handed to us: it is ours, and its TTL
 * starts anew.
 * ARGV value, lock ms, our token line, our token, waiter ms (0: try once,
 * take no place)[, the value we
 * saw, its term, its stop ms, its expiry at the earliest (the server's
 * TIME, ms)].  The lock goes to the first live waiter, or to a newcomer
 * when none waits.
 * {1, term}, or {0, value, pttl, fence, why, expiry, rank, waiters, the
 * token ahead of us, its value, its pttl}, and we have a place (rank -1:
 * none, we try once): why 0 held
 * (expiry: when that lock runs out at the earliest, or -1), 1 its lock is
 * gone but its holder may still run (the held key's value and pttl), 2
 * both went without a clean end before the lock could have run out, and
 * it is held for that holder now, 3 free, and another waiter is first.
 */
extern const char redis_lua_acquire[];

/* RENEW: KEYS lock, held; ARGV token line, ms[, new value].  1 renewed, 0
 * no key, -1 another's.  The held key follows the lock. */
extern const char redis_lua_renew[];

/* END: KEYS lock, held, ended, queue, fence; ARGV a prefix of the value,
 * ms: a clean end, once its command is gone.  Delete the lock and the held
 * key where they are ours, say so in the ended key for ms, and hand the
 * lock to the first live waiter: set to its value (PX its own lease), a
 * new term, its place given up, and the term published on its channel, so
 * that it leads without asking (when the lock was not ours, only wake
 * it).  1 the lock was ours, 0 no lock, -1 another's. */
extern const char redis_lua_end[];

/* LEAVE: KEYS lock, queue, the waiter's key, held, ended; ARGV its token,
 * ms[, the value its key must still hold].  Give up its place, and the
 * lock if it was handed to it (a clean end: it never ran its command;
 * the ended key says so for ms); if it was first and the lock is free,
 * wake the next.  1, or 0 when its key holds another value. */
extern const char redis_lua_leave[];

/* STATUS: KEYS lock, fence, held, queue; ARGV how many waiters to name.
 * {value or nil, pttl, fence, 1 if only the held key is left, the live
 * waiters (among the first 10,000 places, and every place after them),
 * {the values of the first live waiters}}. */
extern const char redis_lua_status[];

/* LIST: ARGV a SCAN cursor, the pattern, a COUNT.  {the next cursor, the
 * lease names of the keys this step found, NUL-separated, no name twice;
 * the keys matching the pattern that name no lease, NUL-separated}. */
extern const char redis_lua_list[];

#endif
