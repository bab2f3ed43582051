/*
 * file.c - the file store behind lease.h (file:DIR, -d DIR).
 *
 * Two files per lease NAME in DIR:
 *   NAME.lease  the record: two 512-byte slots of "key=value" lines with a
 *               write number and a checksum; each update is one pwrite into
 *               the slot that is not current, so a reader or a failed write
 *               always leaves one good record;
 *   NAME.lock   "term=N", the highest term granted, and two fcntl locks:
 *               byte 0 (MUTEX) serialises read-check-write of the record,
 *               byte 2 (PRESENCE) is held by the leader for its term.
 * Same-host waiters queue on PRESENCE in the kernel, so a release or a crash
 * hands it to one waiter at once.  PRESENCE is only a hint and a wake-up:
 * who leads is decided by the record, confirmed under MUTEX, by these rules:
 *  - released record, or one that never existed: ours if we hold PRESENCE
 *    (nobody else on this host is leading or about to);
 *  - holder on this host (same boot and PID namespace): ours once its
 *    supervisor and its command's process group are gone, never before;
 *  - holder elsewhere, a removed record or one we cannot read: ours once it
 *    has not changed for the lease duration, on our own monotonic clock.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/file_record.h"
#include "store/store.h"

#if defined(__linux__) && !defined(F_OFD_SETLK)
/* Open file description locks (Linux 3.15); glibc hides them behind
 * _GNU_SOURCE, the numbers are kernel ABI. */
#define F_OFD_GETLK	36
#define F_OFD_SETLK	37
#define F_OFD_SETLKW	38
#endif

/* Not adjacent: one owner's locks on adjacent bytes merge into one, and
 * every MUTEX release would then wake all the PRESENCE waiters. */
#define MUTEX_BYTE	0
#define PRESENCE_BYTE	2
/* The presence waiter thread's stack (see file_watch_fd). */
#define WAITER_STACK	(256 * 1024)
/* How soon to look again when a dead local holder's command is exiting. */
#define REAP_POLL_NS	1000000LL

struct flease {
	char		 name[LEASE_IDLEN];
	char		 id[LEASE_IDLEN];
	char		 lease_file[LEASE_IDLEN + 8];
	int		 fd;		/* NAME.lease, -1 until it exists */
	ino_t		 ino;		/* of fd */
	uint64_t	 seq;		/* highest write number read under MUTEX */
	char		 lock_file[LEASE_IDLEN + 8];
	char		 dir[PATH_MAX];
	int64_t		 lease_ns;
	int		 slots;		/* --slots, written in our record */
	int64_t		 retry_ns;
	long		 job;		/* held command, named when we acquire */
	int		 dirfd;
	int		 lockfd;
	int		 ofd;		/* 1: OFD locks, 0: classic fcntl locks */

	/* who we are */
	char		 host[LEASE_HOSTLEN];
	char		 sys[80];
	long		 pid;
	unsigned long long start;

	/* our term, while we lead */
	int		 leader;
	uint64_t	 term;
	int64_t		 acquired_ms;
	uint64_t	 renewals;

	/* what we last saw of the record, on our own clock */
	int		 seen;
	uint64_t	 seen_version;
	int64_t		 seen_since;
	uint64_t	 max_term;
	uint64_t	 warned_version;
	int64_t		 reap_poll_ns;
	struct lease	*lease;		/* ours, for warnings */

	/* the PRESENCE waiter thread */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 thread;
	int		 thread_started;
	int		 armed;
	int		 abandon;	/* armed for a place withdrawn: what
					 * the thread gets, it lets go at once */
	int		 have_presence;
	int		 watch_failed;
	int		 notify[2];
};

/* Refuse what an attacker could plant in a shared directory. */
static int
check_file(const struct stat *st, const char *dir, const char *file, char *err)
{
	if (!S_ISREG(st->st_mode)) {
		seterr(err, "%s/%s: not a regular file", dir, file);
		return -1;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		seterr(err, "%s/%s: owned by another user (uid %lu)", dir, file,
		    (unsigned long)st->st_uid);
		return -1;
	}
	if (st->st_nlink > 1) {
		seterr(err, "%s/%s: has %lu hard links", dir, file,
		    (unsigned long)st->st_nlink);
		return -1;
	}
	return 0;
}

static int
lock_byte(struct flease *l, int wait, short type, off_t byte)
{
	struct flock fl;
	int cmd;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
#ifdef F_OFD_SETLK
	if (l->ofd)
		cmd = wait ? F_OFD_SETLKW : F_OFD_SETLK;
	else
#endif
		cmd = wait ? F_SETLKW : F_SETLK;
	for (;;) {
		if (fcntl(l->lockfd, cmd, &fl) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EDEADLK && wait) {
			/* Classic locks see our two threads as one owner and may
			 * report a cycle that is not there: wait it out. */
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		return -1;
	}
}

/* read_slots: pread the lease file FD into BUF; returns bytes or -1. */
static ssize_t
read_slots(int fd, char *buf)
{
	ssize_t n;

	while ((n = pread(fd, buf, RECORD_MAX, 0)) == -1 && errno == EINTR)
		;
	return n;
}

/*
 * open_lease: make L->fd the file now at DIR/NAME.lease (it may have been
 * removed or replaced since we opened it), creating it if CREATE.  Returns
 * 1 when open, 0 when there is no such file, -1 with ERR set.
 */
static int
open_lease(struct flease *l, int create, char *err)
{
	struct stat st, fst;
	int fd;

	if (fstatat(l->dirfd, l->lease_file, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			seterr(err, "stat %s/%s: %s", l->dir, l->lease_file,
			    strerror(errno));
			return -1;
		}
		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
		if (!create)
			return 0;
	} else if (l->fd != -1 && fstat(l->fd, &fst) == 0 &&
	    fst.st_ino == st.st_ino && fst.st_dev == st.st_dev &&
	    fst.st_nlink > 0)
		return 1;
	if (l->fd != -1)
		close(l->fd);
	fd = openat(l->dirfd, l->lease_file, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK | (create ? O_CREAT : 0), 0644);
	if (fd == -1) {
		l->fd = -1;
		if (errno == ENOENT && !create)
			return 0;
		if (errno == ELOOP)
			seterr(err, "%s/%s: is a symbolic link", l->dir, l->lease_file);
		else
			seterr(err, "open %s/%s: %s", l->dir, l->lease_file,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || check_file(&st, l->dir, l->lease_file, err)) {
		if (errno && !err[0])
			seterr(err, "stat %s/%s: %s", l->dir, l->lease_file,
			    strerror(errno));
		close(fd);
		l->fd = -1;
		return -1;
	}
	l->fd = fd;
	l->ino = st.st_ino;
	return 1;
}

/*
 * load: read the current record.  Returns 1 with *R (*OK 0 if the file
 * holds no valid record), 0 when there is no record at all (no file, or an
 * empty one), -1 with ERR set.  *VERSION changes whenever the record does.
 */
static uint64_t mark_read(struct flease *);

static int
load(struct flease *l, struct record *r, int *ok, uint64_t *version, char *err)
{
	char buf[RECORD_MAX];
	ssize_t n;
	int i;
	/* Every new term moves the mark, so "missing" now and "missing" a
	 * while ago are different versions if a leader came in between:
	 * an observer that slept through it must not see the record as
	 * unchanged since then. */
	uint64_t mark = mark_read(l) * 0xC2B2AE3D27D4EB4FULL;

	err[0] = '\0';
	memset(r, 0, sizeof(*r));
	*ok = 0;
	*version = mark;
	switch (open_lease(l, 0, err)) {
	case -1:
		return -1;
	case 0:
		return 0;
	}
	/* A slot caught mid-write fails its checksum; the writer is done in
	 * microseconds, so look again before calling the record corrupt. */
	for (i = 0; i < 3; i++) {
		if ((n = read_slots(l->fd, buf)) == -1) {
			seterr(err, "read %s/%s: %s", l->dir, l->lease_file,
			    strerror(errno));
			return -1;
		}
		if (n == 0) {
			*version = mark;
			return 0;
		}
		if ((*ok = record_parse_file(buf, (size_t)n, r, version)))
			break;
		if (i < 2) {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
	if (*ok && r->seq > l->seq)
		l->seq = r->seq;
	/* A new file may restart the write numbers: its inode tells it apart. */
	*version ^= (uint64_t)l->ino * 0x9E3779B97F4A7C15ULL ^ mark;
	return 1;
}

/*
 * write_record: write our record into the slot the current one is not in,
 * so that a write that fails half way leaves the current record readable.
 * In place (no rename): a renewal costs one pwrite.  JOB LEASE_JOB_DONE
 * writes job=0 and done=1 (older readers ignore the key; they would refuse
 * a negative job).
 */
static int
write_record(struct flease *l, int state, long job, char *err)
{
	char buf[RECORD_SLOT];
	struct record r;
	uint64_t seq = l->seq + 1;
	ssize_t w;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.h.state = state;
	snprintf(r.h.id, sizeof(r.h.id), "%s", l->id);
	snprintf(r.h.host, sizeof(r.h.host), "%s", l->host);
	snprintf(r.sys, sizeof(r.sys), "%s", l->sys);
	r.h.pid = l->pid;
	r.start = l->start;
	r.h.job = job < 0 ? 0 : job;
	r.h.done = job == LEASE_JOB_DONE && state == LEASE_HELD;
	r.h.term = l->term;
	r.h.acquired_ms = l->acquired_ms;
	r.h.renewed_ms = wall_ms();
	r.h.renewals = l->renewals;
	r.h.lease_ms = l->lease_ns / 1000000;
	r.h.slots = l->slots;
	if (record_format(&r, buf) == -1) {
		seterr(err, "%s/%s: record too long", l->dir, l->lease_file);
		return -1;
	}
	if (open_lease(l, 1, err) == -1)
		return -1;
	w = pwrite(l->fd, buf, sizeof(buf), (off_t)(seq % 2) * RECORD_SLOT);
	if (w != (ssize_t)sizeof(buf)) {
		if (w >= 0)
			errno = ENOSPC;
		seterr(err, "write %s/%s: %s", l->dir, l->lease_file, strerror(errno));
		return -1;
	}
	l->seq = seq;
	return 0;
}

/*
 * The highest term ever granted is also kept in NAME.lock ("term=N"), which
 * outlives a removed record: the next term never goes back, and a missing
 * record under a non-zero mark means "removed", not "never used".
 */
static uint64_t
mark_read(struct flease *l)
{
	char buf[64];
	ssize_t n = pread(l->lockfd, buf, sizeof(buf) - 1, 0);
	int64_t t;

	if (n <= 5 || memcmp(buf, "term=", 5) != 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (t = decimal(buf + 5, INT64_MAX / 2)) > 0 ? (uint64_t)t : 0;
}

static void
mark_write(struct flease *l, uint64_t term)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "term=%llu\n", (unsigned long long)term);

	(void)!pwrite(l->lockfd, buf, (size_t)n, 0);
}

static void *
presence_waiter(void *arg)
{
	struct flease *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		int r;

		while (!l->armed)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->abandon) {	/* withdrawn before we began to wait */
			l->armed = l->abandon = 0;
			continue;
		}
		pthread_mutex_unlock(&l->mu);
		r = lock_byte(l, 1, F_WRLCK, PRESENCE_BYTE);
		pthread_mutex_lock(&l->mu);
		l->armed = 0;
		/* Withdrawn meanwhile: let it go, unless the contender's own
		 * try took it (one owner, one lock) and counts on it. */
		if (r == 0 && l->abandon) {
			if (!l->have_presence)
				lock_byte(l, 0, F_UNLCK, PRESENCE_BYTE);
		}
		else if (r == 0) {
			l->have_presence = 1;
			(void)!write(l->notify[1], "", 1);
		} else
			l->watch_failed = 1;	/* the contender falls back to polling */
		l->abandon = 0;
	}
	return NULL;
}

static int
have_presence(struct flease *l)
{
	int have, e = 0;

	/* Under MU: the waiter thread is the same lock owner, and may be
	 * letting go of a wait withdrawn (--slots) at this moment. */
	pthread_mutex_lock(&l->mu);
	have = l->have_presence;
	if (!have && lock_byte(l, 0, F_WRLCK, PRESENCE_BYTE) == 0)
		have = l->have_presence = 1;
	else if (!have)
		e = errno;
	pthread_mutex_unlock(&l->mu);
	if (have)
		return 1;
	return e == EAGAIN || e == EACCES ? 0 : -1;
}

static void
drop_presence(struct flease *l)
{
	pthread_mutex_lock(&l->mu);
	if (l->have_presence)
		lock_byte(l, 0, F_UNLCK, PRESENCE_BYTE);
	l->have_presence = 0;
	pthread_mutex_unlock(&l->mu);
}

/* The URL: file:DIR, or file://DIR as browsers write it. */
struct file_url {
	char		 dir[4096];
};

static int
file_parse_url(const char *url, void *out, char *err)
{
	const char *p = url + 5;
	struct file_url *u = out;

	if (!strncmp(p, "//", 2))
		p += 2;		/* file:///tmp reads as file:/tmp */
	if (*p == '\0') {
		seterr(err, "store '%s': no directory after file:", url);
		return -1;
	}
	if (strlen(p) >= sizeof(u->dir)) {
		seterr(err, "store '%s': directory name too long", url);
		return -1;
	}
	strcpy(u->dir, p);
	return 0;
}

static void
file_where(const void *url, const char *name, char *buf, size_t len)
{
	const struct file_url *u = url;

	snprintf(buf, len, "%s/%s.lease", u->dir, name);
}

static void file_close(struct lease *);

static int
file_open(struct lease *lease, const void *url,
    const struct lease_config *cfg, char *err)
{
	const struct file_url *u = url;
	struct flease *l;
	struct stat st;
	struct host_self me;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	lease->data = l;
	l->lease = lease;
	l->dirfd = l->lockfd = l->fd = l->notify[0] = l->notify[1] = -1;
	snprintf(l->name, sizeof(l->name), "%s", cfg->name);
	snprintf(l->id, sizeof(l->id), "%s", cfg->node_id);
	snprintf(l->dir, sizeof(l->dir), "%s", u->dir);
	snprintf(l->lease_file, sizeof(l->lease_file), "%s.lease", cfg->name);
	snprintf(l->lock_file, sizeof(l->lock_file), "%s.lock", cfg->name);
	l->lease_ns = cfg->lease_ns;
	l->slots = cfg->slots;
	l->job = cfg->job;
	l->retry_ns = cfg->retry_ns;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);

	host_self(&me);
	memcpy(l->host, me.name, sizeof(l->host));
	memcpy(l->sys, me.sys, sizeof(l->sys));
	l->pid = me.pid;
	l->start = me.start;

	l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd == -1) {
		seterr(err, "open %s: %s", l->dir, strerror(errno));
		goto fail;
	}
	l->lockfd = openat(l->dirfd, l->lock_file, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (l->lockfd == -1) {
		if (errno == ELOOP)
			seterr(err, "%s/%s: is a symbolic link", l->dir, l->lock_file);
		else
			seterr(err, "open %s/%s: %s", l->dir, l->lock_file,
			    strerror(errno));
		goto fail;
	}
	if (fstat(l->lockfd, &st) == -1) {
		seterr(err, "stat %s/%s: %s", l->dir, l->lock_file, strerror(errno));
		goto fail;
	}
	if (check_file(&st, l->dir, l->lock_file, err) == -1)
		goto fail;
#ifdef F_OFD_GETLK
	{
		struct flock fl;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_len = 1;
		l->ofd = fcntl(l->lockfd, F_OFD_GETLK, &fl) == 0;
	}
#endif
	if (pipe(l->notify) == -1 ||
	    fcntl(l->notify[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(l->notify[1], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(l->notify[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(l->notify[1], F_SETFL, O_NONBLOCK) == -1) {
		seterr(err, "pipe: %s", strerror(errno));
		goto fail;
	}
	return LEASE_OK;
fail:
	file_close(lease);
	return LEASE_ERR;
}

static int
is_ours(const struct flease *l, const struct record *r)
{
	return r->h.state == LEASE_HELD && r->h.term == l->term &&
	    r->h.pid == l->pid && !strcmp(r->h.id, l->id) && !strcmp(r->sys, l->sys);
}

static void
note_corrupt(struct flease *l, uint64_t version)
{
	if (l->warned_version == version)
		return;
	l->warned_version = version;
	lease_warn(l->lease, "%s/%s: not a valid lease record; treating it as "
	    "held by an unknown contender until it has not changed for the "
	    "lease duration", l->dir, l->lease_file);
}

static int
file_acquire(struct lease *lease, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct flease *l = lease->data;
	struct record r;
	uint64_t version, again;
	int64_t now, unchanged, left;
	int have, found, ok = 0, take = 0;

	*retry_ns = l->retry_ns;
	if (l->leader) {
		seterr(err, "already leading");
		return LEASE_ERR;
	}
	if ((have = have_presence(l)) == -1) {
		seterr(err, "lock %s/%s: %s", l->dir, l->lock_file, strerror(errno));
		return LEASE_ERR;
	}
	/* Judge on a lock-free read (a torn slot fails its checksum);
	 * take MUTEX only to confirm and write. */
	found = load(l, &r, &ok, &version, err);
	if (found == -1)
		return LEASE_ERR;

	now = now_ns();
	if (!l->seen || version != l->seen_version) {
		l->seen = 1;
		l->seen_version = version;
		l->seen_since = now;
		l->reap_poll_ns = 0;
	}
	unchanged = now - l->seen_since;
	/* A holder's own, longer lease counts: it steps down on its timing. */
	left = l->lease_ns;
	if (found && ok && r.h.lease_ms > 0 && r.h.lease_ms < INT64_MAX / 1000000 &&
	    r.h.lease_ms * 1000000 > left)
		left = r.h.lease_ms * 1000000;
	left -= unchanged;
	if (found && ok && r.h.term > l->max_term)
		l->max_term = r.h.term;
	if (found && !ok)
		note_corrupt(l, version);

	memset(h, 0, sizeof(*h));
	if (found && ok) {
		*h = r.h;
		h->local = r.sys[0] && !strcmp(r.sys, l->sys);
	}
	if (found && ok && r.h.state == LEASE_HELD && h->local) {
		int sup = host_pid_alive(r.h.pid, r.start);
		int job = sup || host_group_alive(r.h.job);
		int i;

		/* A holder that let PRESENCE go, or whose supervisor is gone, is
		 * dying right now (its command gets SIGKILL from PDEATHSIG and
		 * the watchdog): give it a millisecond before backing off. */
		for (i = 0; i < 10 && (sup || job) && (!sup || have); i++) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			sup = host_pid_alive(r.h.pid, r.start);
			job = sup || host_group_alive(r.h.job);
		}
		h->alive = sup || job;
		if (h->alive) {
			/* We can see it: safety wins over expiry.  When its
			 * supervisor is dead (its command is being killed) or
			 * it let PRESENCE go (it is exiting right now), look
			 * again soon, backing off if it lingers. */
			if (!sup || have) {
				l->reap_poll_ns = l->reap_poll_ns ?
				    l->reap_poll_ns * 2 : REAP_POLL_NS;
				if (l->reap_poll_ns < *retry_ns)
					*retry_ns = l->reap_poll_ns;
			}
		} else
			take = have || left <= 0;
	} else if (found && ok && r.h.state == LEASE_RELEASED) {
		take = have || left <= 0;
	} else if (found && ok) {
		take = left <= 0;	/* a remote holder: expiry by observation */
	} else {
		/* No record, or one we cannot read.  Free at once only if it
		 * never existed (no term mark) and no leader on this host holds
		 * PRESENCE; a removed one may hide a leader that does not hold
		 * PRESENCE (it took over by expiry), so wait it out. */
		take = (!found && have && mark_read(l) == 0) || left <= 0;
	}
	if (!take) {
		if (h->state == LEASE_FREE && !(found && ok))
			h->state = LEASE_HELD;	/* held by someone we cannot name */
		if (!(h->local && h->alive) && left > 0 && left < *retry_ns)
			*retry_ns = left;
		/* A live leader on this host hands PRESENCE on when it goes,
		 * and the kernel wakes us when it is our turn: look only now
		 * and then, in case the waiter ahead of us is stuck. */
		if (!have && h->local && h->alive && *retry_ns < 3 * l->lease_ns)
			*retry_ns = 3 * l->lease_ns;
		return LEASE_BUSY;
	}

	if (lock_byte(l, 1, F_WRLCK, MUTEX_BYTE) == -1) {
		seterr(err, "lock %s/%s: %s", l->dir, l->lock_file, strerror(errno));
		return LEASE_ERR;
	}
	found = load(l, &r, &ok, &again, err);
	if (found == -1)
		goto unlock_err;
	if (again != version) {
		/* Someone wrote in between: judge again at once. */
		lock_byte(l, 0, F_UNLCK, MUTEX_BYTE);
		*retry_ns = 0;
		return LEASE_BUSY;
	}
	if (mark_read(l) > l->max_term)
		l->max_term = mark_read(l);
	l->term = l->max_term + 1;
	l->acquired_ms = wall_ms();
	l->renewals = 0;
	if (write_record(l, LEASE_HELD, l->job, err) == -1)
		goto unlock_err;
	/* After the record, so that a failed write uses up no term; the mark
	 * is a safeguard for a removed record, so its own failure is not
	 * fatal: the record just written carries the term too. */
	mark_write(l, l->term);
	lock_byte(l, 0, F_UNLCK, MUTEX_BYTE);
	l->leader = 1;
	l->max_term = l->term;
	l->reap_poll_ns = 0;
	l->seen = 0;
	memset(h, 0, sizeof(*h));
	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", l->id);
	snprintf(h->host, sizeof(h->host), "%s", l->host);
	h->pid = l->pid;
	h->term = l->term;
	h->acquired_ms = h->renewed_ms = l->acquired_ms;
	h->lease_ms = l->lease_ns / 1000000;
	h->local = 1;
	h->alive = 1;
	return LEASE_OK;

unlock_err:
	lock_byte(l, 0, F_UNLCK, MUTEX_BYTE);
	return LEASE_ERR;
}

/* Under MUTEX: is the record still ours, and the lock file still the one we
 * hold?  Returns LEASE_OK, LEASE_LOST or LEASE_ERR. */
static int
check_ours(struct flease *l, char *err)
{
	struct record r;
	struct stat st, lst;
	uint64_t version;
	int found, ok;

	if (fstat(l->lockfd, &lst) == -1 ||
	    fstatat(l->dirfd, l->lock_file, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_ino != lst.st_ino || st.st_dev != lst.st_dev) {
		seterr(err, "%s/%s was removed or replaced", l->dir, l->lock_file);
		return LEASE_LOST;
	}
	found = load(l, &r, &ok, &version, err);
	if (found == -1)
		return LEASE_ERR;
	if (found == 0) {
		seterr(err, "%s/%s was removed", l->dir, l->lease_file);
		return LEASE_LOST;
	}
	if (!ok) {
		seterr(err, "%s/%s was overwritten", l->dir, l->lease_file);
		return LEASE_LOST;
	}
	if (!is_ours(l, &r)) {
		if (r.h.state == LEASE_HELD)
			seterr(err, "taken over by %s (term %llu)", r.h.id,
			    (unsigned long long)r.h.term);
		else
			seterr(err, "%s/%s was replaced", l->dir, l->lease_file);
		return LEASE_LOST;
	}
	return LEASE_OK;
}

/* Rewrite our record with STATE under MUTEX, if it is still ours. */
static int
update_ours(struct flease *l, int state, long job, char *err)
{
	int r;

	if (!l->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	if (lock_byte(l, 1, F_WRLCK, MUTEX_BYTE) == -1) {
		seterr(err, "lock %s/%s: %s", l->dir, l->lock_file, strerror(errno));
		return LEASE_ERR;
	}
	r = check_ours(l, err);
	if (r == LEASE_OK) {
		if (state == LEASE_HELD)
			l->renewals++;
		if (write_record(l, state, job, err) == -1)
			r = LEASE_ERR;
	}
	lock_byte(l, 0, F_UNLCK, MUTEX_BYTE);
	if (r == LEASE_LOST)
		l->leader = 0;
	return r;
}

static int
file_renew(struct lease *lease, long job, char *err)
{
	return update_ours(lease->data, LEASE_HELD, job, err);
}

static int
file_release(struct lease *lease, char *err)
{
	struct flease *l = lease->data;
	int r = update_ours(l, LEASE_RELEASED, 0, err);

	if (r == LEASE_OK)
		l->leader = 0;
	/* Only now may a waiter on this host wake: the record says released. */
	drop_presence(l);
	return r;
}

/* Not leading: let PRESENCE go, if we took it, for the next waiter, and
 * if we wait for it, let it go as soon as we get it (--slots withdraws
 * from one queue and goes on in another). */
static void
file_withdraw(struct lease *lease)
{
	struct flease *l = lease->data;

	if (l->leader)
		return;
	pthread_mutex_lock(&l->mu);
	if (l->armed)		/* waiting, or about to */
		l->abandon = 1;
	pthread_mutex_unlock(&l->mu);
	drop_presence(l);
}

static int
file_watch_fd(struct lease *lease)
{
	struct flease *l = lease->data;

	if (l->leader)
		return -1;	/* nothing to watch: renewals find a loss */
	pthread_mutex_lock(&l->mu);
	if (l->watch_failed) {
		pthread_mutex_unlock(&l->mu);
		return -1;
	}
	if (!l->thread_started) {
		pthread_attr_t attr;
		int rc;

		/* It waits in fcntl and writes a byte: a small stack, the
		 * same under every libc (musl's default is 128 kB, glibc's
		 * the stack rlimit, often 8 MB of address space). */
		if (pthread_attr_init(&attr) != 0) {
			pthread_mutex_unlock(&l->mu);
			return -1;
		}
		rc = pthread_attr_setstacksize(&attr, WAITER_STACK) != 0 ||
		    pthread_create(&l->thread, &attr, presence_waiter, l) != 0;
		pthread_attr_destroy(&attr);
		if (rc) {
			pthread_mutex_unlock(&l->mu);
			return -1;
		}
		l->thread_started = 1;
	}
	if (l->abandon)
		l->abandon = 0;	/* still in the queue: a place again */
	else if (!l->have_presence && !l->armed) {
		l->armed = 1;
		pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return l->notify[0];
}

static int
file_watch_clear(struct lease *lease)
{
	struct flease *l = lease->data;
	char buf[64];

	while (read(l->notify[0], buf, sizeof(buf)) > 0)
		;
	return 1;
}

static void
file_close(struct lease *lease)
{
	struct flease *l = lease->data;

	if (l == NULL)
		return;
	if (l->thread_started) {
		/* The waiter may sit in F_SETLKW, a cancellation point. */
		pthread_cancel(l->thread);
		pthread_join(l->thread, NULL);
	}
	if (l->lockfd != -1)
		close(l->lockfd);
	if (l->fd != -1)
		close(l->fd);
	if (l->dirfd != -1)
		close(l->dirfd);
	if (l->notify[0] != -1)
		close(l->notify[0]);
	if (l->notify[1] != -1)
		close(l->notify[1]);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
	lease->data = NULL;
}

static int
file_status(const void *url, const struct lease_config *cfg,
    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
    char *err)
{
	char buf[RECORD_MAX], file[LEASE_IDLEN + 8];
	const char *dir = ((const struct file_url *)url)->dir;
	struct host_self me;
	struct record r;
	struct stat st;
	uint64_t version;
	ssize_t n = 0;
	int dirfd, fd, ok = 0, i;

	(void)w;
	(void)maxw;
	*nw = 0;
	snprintf(file, sizeof(file), "%s.lease", cfg->name);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		seterr(err, "open %s: %s", dir, strerror(errno));
		return LEASE_ERR;
	}
	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	close(dirfd);
	if (fd == -1) {
		if (errno == ENOENT)
			return LEASE_OK;
		if (errno == ELOOP)
			seterr(err, "%s/%s: is a symbolic link", dir, file);
		else
			seterr(err, "open %s/%s: %s", dir, file, strerror(errno));
		return LEASE_ERR;
	}
	if (fstat(fd, &st) == -1 || check_file(&st, dir, file, err)) {
		close(fd);
		return LEASE_ERR;
	}
	for (i = 0; i < 3 && !ok; i++)
		if ((n = read_slots(fd, buf)) > 0)
			ok = record_parse_file(buf, (size_t)n, &r, &version);
	close(fd);
	if (n == -1) {
		seterr(err, "read %s/%s: %s", dir, file, strerror(errno));
		return LEASE_ERR;
	}
	if (n == 0)
		return LEASE_OK;
	if (!ok) {
		seterr(err, "%s/%s: not a valid lease record", dir, file);
		return LEASE_ERR;
	}
	*h = r.h;
	h->ttl_ms = h->waiters = h->ahead = -1;
	host_self(&me);
	h->local = r.sys[0] && !strcmp(r.sys, me.sys);
	h->alive = h->local && r.h.state == LEASE_HELD &&
	    (host_pid_alive(r.h.pid, r.start) || host_group_alive(r.h.job));
	return LEASE_OK;
}

/* Lease files by name, leaving out the ".lease" both end with. */
static int
stem_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strlen(x) - 6, ny = strlen(y) - 6;
	int c = memcmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

/*
 * file_list: the NAME.lease files of the directory.  Only the names are
 * looked at here; lease.c reads each with file_status, which opens it
 * with O_NOFOLLOW and refuses what fails check_file, as contenders do.
 */
static int
file_list(const void *url, const struct lease_config *cfg,
    void (*fn)(void *, const char *, const char *, const char *), void *arg,
    char *err)
{
	const struct file_url *u = url;
	struct dirent *e;
	char **names = NULL, **more, *copy;
	size_t n = 0, cap = 0, i, len;
	DIR *d = NULL;
	int fd, rc = LEASE_OK;

	(void)cfg;
	if ((fd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		seterr(err, "open %s: %s", u->dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return LEASE_ERR;
	}
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno) {
				seterr(err, "read %s: %s", u->dir, strerror(errno));
				rc = LEASE_ERR;
			}
			break;
		}
		len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 6, ".lease") != 0)
			continue;
		if ((copy = strdup(e->d_name)) == NULL) {
			seterr(err, "%s", strerror(errno));
			rc = LEASE_ERR;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((more = realloc(names, cap * sizeof(*names))) == NULL) {
				seterr(err, "%s", strerror(errno));
				free(copy);
				rc = LEASE_ERR;
				break;
			}
			names = more;
		}
		names[n++] = copy;
	}
	closedir(d);
	if (rc == LEASE_OK && n > 0)
		qsort(names, n, sizeof(*names), stem_cmp);
	for (i = 0; i < n; i++) {
		len = strlen(names[i]);
		if (rc == LEASE_OK) {
			names[i][len - 6] = '\0';
			if (slot_name_ok(names[i]))
				fn(arg, names[i], NULL, NULL);
			else {
				names[i][len - 6] = '.';
				fn(arg, NULL, names[i], "not a lease name");
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static const char *const file_prefixes[] = { "file:", NULL };

const struct lease_ops file_ops = {
	.scheme = "file",
	.prefixes = file_prefixes,
	.url_size = sizeof(struct file_url),
	.parse_url = file_parse_url,
	.where = file_where,
	.open = file_open,
	.acquire = file_acquire,
	.renew = file_renew,
	.release = file_release,
	.withdraw = file_withdraw,
	.watch_fd = file_watch_fd,
	.watch_clear = file_watch_clear,
	.farewell = NULL,
	.close = file_close,
	.status = file_status,
	.list = file_list,
};
