/*
 * slots.c - at most N holders (--slots N): one contender in the N leases
 * of one store that are the slots of NAME ("NAME", "NAME#1", ...).
 *
 * Each slot is a whole lease with every rule of one leader (renewal, the
 * stop before another may take it, the watchdog, the queue), so no slot
 * ever has two holders; this file only picks which slots to wait for:
 *  - a newcomer tries every slot in turn, from slot 0 (the one a contender
 *    with one slot would take: held most often, it tells such a one of
 *    the N), and takes the first that is free with nobody queued for it;
 *  - else it keeps a place in the queue where the fewest wait, its home,
 *    and in every other queue where it is first in line.  A release hands
 *    a slot to the first in its queue, as with one leader: one waiter
 *    wakes, however many wait, and a lone waiter wakes for any slot;
 *  - a waiter that is first in its home queue (or where the store cannot
 *    tell: the file store, whose tries cost no network) tries the queues
 *    it is not in once a retry period, and stays where it is first.
 * So a slot that comes free is taken at once by a waiter first in its
 * queue, or within a retry period when its queue was empty as it came
 * free; the waits cost N tries a retry period per queue, whatever the
 * number of waiters.  Order is first come, first served within a queue.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

struct slots {
	struct lease	*s[LEASE_SLOTS_MAX];	/* slot I's lease */
	int		 n;
	int		 once;		/* -n: one try of each, no place kept */
	int		 held;		/* the slot we lead, -1 */
	int		 home;		/* the queue we stay in, -1: none yet */
	int		 place[LEASE_SLOTS_MAX];  /* 1: we keep a place there */
	int		 woken[LEASE_SLOTS_MAX];  /* its watch says: try now */
	int64_t		 due[LEASE_SLOTS_MAX];    /* its next try (now_ns) */
	int		 ahead[LEASE_SLOTS_MAX];  /* waiters before us there, as
						  * its last try said (-1: ?) */
	struct lease_holder shown;	/* the holder of our home, last seen */
	int		 was_first;	/* first in the home queue at the last call */
	int64_t		 retry_ns;
	int64_t		 next_round;	/* a try of the queues we are not in */
};

/* take_warnings: pass on what slot I's lease has to say. */
static void
take_warnings(struct lease *l, struct slots *s, int i)
{
	const char *w;

	while ((w = lease_warning(s->s[i])) != NULL)
		lease_warn(l, "slot %d: %s", i, w);
}

/* leave: give up our place in slot I's queue. */
static void
leave(struct slots *s, int i)
{
	if (s->place[i])
		lease_withdraw(s->s[i]);
	s->place[i] = s->woken[i] = 0;
	if (s->home == i)
		s->home = -1;
}

/* try_slot: one acquire of slot I.  On LEASE_OK we lead it, and keep no
 * place anywhere else; else our place there is kept (the caller decides),
 * also through an error, as with one slot.  A try that took no place
 * before and got no answer is withdrawn: it may have taken one. */
static int
try_slot(struct lease *l, struct slots *s, int i, struct lease_holder *h,
    char *err)
{
	int64_t retry;
	int rc, j, had = s->place[i];

	rc = lease_acquire(s->s[i], h, &retry, err);
	h->slot = i;
	take_warnings(l, s, i);
	s->woken[i] = 0;
	s->due[i] = now_ns() + retry;
	s->place[i] = rc == LEASE_BUSY || (rc == LEASE_ERR && had);
	s->ahead[i] = rc == LEASE_BUSY ? h->ahead : -1;
	if (rc == LEASE_OK) {
		s->held = i;
		s->home = -1;
		/* Never two slots: out of every other queue. */
		for (j = 0; j < s->n; j++)
			if (j != i)
				leave(s, j);
		l->renewed_from = lease_renewed_from(s->s[i]);
		l->renew_now = lease_renew_now(s->s[i]);
	} else if (rc != LEASE_BUSY && !s->place[i])
		lease_withdraw(s->s[i]);
	return rc;
}

/*
 * round_of_tries: try every slot we keep no place in (all, the first
 * time).  LEASE_OK when one was ours (*H), LEASE_REFUSED at once; else
 * LEASE_BUSY with *H the holder where the fewest wait (our home, if we have
 * none yet), keeping our place where we are first in line; LEASE_ERR only
 * when every try failed.
 */
static int
round_of_tries(struct lease *l, struct slots *s, struct lease_holder *h,
    char *err)
{
	struct lease_holder x, best;
	char e[LEASE_ERRLEN];
	int i, rc, tried = 0, failed = 0, b = -1, ahead[LEASE_SLOTS_MAX] = { 0 };

	memset(h, 0, sizeof(*h));
	h->slot = -1;		/* none tried */
	h->ttl_ms = -1;
	h->waiters = h->ahead = -1;
	for (i = 0; i < s->n; i++) {
		ahead[i] = -2;		/* not tried now */
		if (s->place[i])
			continue;
		tried++;
		rc = try_slot(l, s, i, &x, e);
		if (rc == LEASE_OK) {
			*h = x;
			return rc;
		}
		if (rc == LEASE_REFUSED) {
			seterr(err, "%s", e);
			for (i = 0; i < s->n; i++)
				leave(s, i);
			return rc;
		}
		if (rc == LEASE_ERR) {
			/* Another slot may do: say this only if none does. */
			if (failed++ == 0)
				seterr(err, "slot %d: %s", i, e);
			continue;
		}
		ahead[i] = x.ahead;
		if (b == -1 || (x.waiters >= 0 && (best.waiters < 0 ||
		    x.waiters < best.waiters)))
			b = i, best = x;
	}
	if (b != -1)
		*h = best;
	if (s->home < 0)
		s->home = b;
	/* Tried now: stay only at home, and where we are first in line. */
	for (i = 0; i < s->n; i++)
		if (ahead[i] != -2 && s->place[i] && (s->once ||
		    (i != s->home && ahead[i] > 0)))
			leave(s, i);
	if (tried > 0 && failed == tried && b == -1)
		return LEASE_ERR;
	return LEASE_BUSY;
}

static int
slots_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct slots *s = l->data;
	struct lease_holder x;
	int64_t now, next;
	int i, rc, first, busy = 0, failed = 0;

	*retry_ns = s->retry_ns;
	if (s->held >= 0) {
		seterr(err, "already leading");
		return LEASE_ERR;
	}
	/* The queues we are in: each when it is due or its watch woke it. */
	for (i = 0; i < s->n; i++) {
		if (!s->place[i] || (!s->woken[i] && now_ns() < s->due[i]))
			continue;
		rc = try_slot(l, s, i, &x, err);
		if (rc == LEASE_OK || rc == LEASE_REFUSED) {
			if (rc == LEASE_OK)
				*h = x;
			else
				for (i = 0; i < s->n; i++)
					leave(s, i);
			return rc;
		}
		busy |= rc == LEASE_BUSY;
		failed |= rc == LEASE_ERR;
		if (rc == LEASE_BUSY && i != s->home && x.ahead > 0)
			leave(s, i);	/* no longer first there */
		if (rc == LEASE_BUSY && i == s->home)
			s->shown = x;
	}
	/* First in our home queue (or we cannot tell): the others too, now
	 * and then. */
	first = s->home >= 0 && s->place[s->home] && s->ahead[s->home] <= 0;
	/* Just moved to the front: the others may have come free meanwhile,
	 * with nobody first in their queues to take them. */
	if (first && !s->was_first)
		s->next_round = 0;
	s->was_first = first;
	if (s->home < 0 || !s->place[s->home] || (first &&
	    now_ns() >= s->next_round)) {
		s->next_round = now_ns() + s->retry_ns;
		rc = round_of_tries(l, s, &x, err);
		if (rc != LEASE_BUSY || s->once) {
			*h = x;
			return rc;
		}
		busy = 1;
		if (s->home >= 0 && x.slot == s->home)
			s->shown = x;
		first = s->home >= 0 && s->ahead[s->home] <= 0;
	}
	*h = s->shown;
	/* Every queue we asked failed to answer: say so (ERR holds why). */
	if (failed && !busy)
		return LEASE_ERR;
	now = now_ns();
	next = first ? s->next_round : now + s->retry_ns;
	for (i = 0; i < s->n; i++)
		if (s->place[i] && s->due[i] < next)
			next = s->due[i];
	*retry_ns = next > now ? next - now : 0;
	return LEASE_BUSY;
}

static int
slots_renew(struct lease *l, long job, char *err)
{
	struct slots *s = l->data;
	int rc;

	if (s->held < 0) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	rc = lease_renew(s->s[s->held], job, err);
	l->renewed_from = lease_renewed_from(s->s[s->held]);
	take_warnings(l, s, s->held);
	return rc;
}

static int
slots_release(struct lease *l, char *err)
{
	struct slots *s = l->data;
	int rc;

	if (s->held < 0) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	rc = lease_release(s->s[s->held], err);
	s->held = -1;
	return rc;
}

static void
slots_withdraw(struct lease *l)
{
	struct slots *s = l->data;
	int i;

	for (i = 0; i < s->n; i++)
		if (i != s->held)
			leave(s, i);
}

/*
 * The leases that have our attention: the one we lead, else the queues we
 * are in.  watch_fds gives their descriptors; watch_clear clears those that
 * are readable, and marks their slots to try.
 */
static int
slots_watch_fds(struct lease *l, int *fds, int max)
{
	struct slots *s = l->data;
	int i, n = 0, fd;

	for (i = 0; i < s->n && n < max; i++)
		if ((s->held >= 0 ? i == s->held : s->place[i]) &&
		    (fd = lease_watch_fd(s->s[i])) != -1)
			fds[n++] = fd;
	return n;
}

static int
slots_watch_fd(struct lease *l)
{
	int fd;

	return slots_watch_fds(l, &fd, 1) == 1 ? fd : -1;
}

static int
slots_watch_clear(struct lease *l)
{
	struct slots *s = l->data;
	struct pollfd p;
	int i, due = 0;

	for (i = 0; i < s->n; i++) {
		if (!(s->held >= 0 ? i == s->held : s->place[i]) ||
		    (p.fd = lease_watch_fd(s->s[i])) == -1)
			continue;
		p.events = POLLIN;
		if (poll(&p, 1, 0) == 1 && lease_watch_clear(s->s[i]))
			due = s->woken[i] = 1;
	}
	return due;
}

static void
slots_farewell(struct lease *l, struct lease_farewell *f)
{
	struct slots *s = l->data;

	if (s->held >= 0)
		lease_farewell(s->s[s->held], f);
}

/* The watchdog holds one request: the home queue's, the place that may
 * be far from the front.  A place where we are first is the next one's
 * to wait out, for a lease at most. */
static void
slots_place_farewell(struct lease *l, struct lease_farewell *f)
{
	struct slots *s = l->data;

	if (s->held < 0 && s->home >= 0 && s->place[s->home])
		lease_place_farewell(s->s[s->home], f);
}

static void
slots_close(struct lease *l)
{
	struct slots *s = l->data;
	int i;

	for (i = 0; i < s->n; i++)
		lease_close(s->s[i]);
	free(s);
}

const struct lease_ops slots_ops = {
	.scheme = "slots",
	.acquire = slots_acquire,
	.renew = slots_renew,
	.release = slots_release,
	.withdraw = slots_withdraw,
	.watch_fd = slots_watch_fd,
	.watch_fds = slots_watch_fds,
	.watch_clear = slots_watch_clear,
	.farewell = slots_farewell,
	.place_farewell = slots_place_farewell,
	.close = slots_close,
};

int
slots_open(struct lease **lp, const struct lease_ops *ops, const void *u,
    const struct lease_config *cfg, char *err)
{
	struct lease_config c = *cfg;
	char name[LEASE_IDLEN + 4];
	struct slots *s;
	struct lease *l;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, "%s", strerror(errno));
		free(s);
		return LEASE_ERR;
	}
	s->n = cfg->slots;
	s->once = cfg->once;
	s->home = s->held = -1;
	s->retry_ns = cfg->retry_ns > 0 ? cfg->retry_ns : cfg->lease_ns / 5;
	for (i = 0; i < s->n; i++) {
		slot_name(cfg->name, i, name, sizeof(name));
		c.name = name;
		if (store_open(&s->s[i], ops, u, &c, err) != LEASE_OK) {
			while (i-- > 0)
				lease_close(s->s[i]);
			free(s);
			free(l);
			return LEASE_ERR;
		}
		/* Messages name the lease the user gave. */
		snprintf(s->s[i]->name, sizeof(s->s[i]->name), "%s", cfg->name);
	}
	l->ops = &slots_ops;
	l->data = s;
	snprintf(l->name, sizeof(l->name), "%s", cfg->name);
	l->slots = s->n;
	*lp = l;
	return LEASE_OK;
}
