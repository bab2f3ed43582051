/*
 * faultshim.c - LD_PRELOAD fault injection for leaderrun's file store.
 *
 * Build:  cc -shared -fPIC -O2 -o faultshim.so faultshim.c -ldl
 * Use:    LD_PRELOAD=./faultshim.so LR_FAULT='write:EIO:after=3' leaderrun ...
 *
 * It wraps the calls a file store makes: openat, read and pread, write and
 * pwrite, close, renameat, fcntl (record locks only).  Only lease files take
 * faults: openat and renameat by the name they are given, the others by the
 * name the descriptor was opened with (descriptors the shim saw come out of
 * openat).  Pipes, stderr and /proc are never touched.  It also wraps
 * clock_gettime, whose CLOCK_MONOTONIC and CLOCK_BOOTTIME can jump ahead.
 *
 * LR_FAULT      rules, separated by ';' or newlines:  CALL:ACTION[:OPT]...
 *   CALL    openat read write close renameat fcntl, or * for any of them;
 *           read also means pread, write also pwrite; clock (not in *)
 *   ACTION  an errno name (EIO ENOSPC EACCES EROFS EDQUOT ENOLCK ESTALE ...)
 *           or number: the call fails with it (close still closes the fd;
 *           fcntl fails without taking the lock);
 *           hang   the call never returns;
 *           stall  the call waits while LR_FAULT_FILE exists, then runs;
 *           short  write: writes half the bytes; read: reports half of
 *                  what it read;
 *           sleep  waits ms=N milliseconds, then runs the call;
 *           pass   runs the call (a rule that only counts calls);
 *           jump   clock: reads ms=N milliseconds ahead while the rule
 *                  applies, as after a suspend (not logged).
 *   OPT     match=S  only files whose name contains S (default ".lease" for
 *                    openat/read/write/close/renameat, ".lock" for fcntl);
 *           after=N  let the first N matching calls through;
 *           count=N  inject at most N times, then let calls through;
 *           byte=N   fcntl: only locks that start at byte N;
 *           ms=N     for sleep and jump;
 *           while=P  apply while file P exists, instead of LR_FAULT_FILE
 *                    (stall then waits while P exists).
 *   The first rule that matches a call decides.
 * LR_FAULT_FILE while set, rules apply only while this file exists, and only
 *               calls made while it exists count for after= and count=.
 * LR_FAULT_LOG  append one line per call on a lease or lock file: "<wall us>
 *               <pid> <call> <file> <verdict>", call the function's own name
 *               (pread, pwrite...), verdict the injected action (logged
 *               before it takes effect), or "pass" / "error" (logged when the
 *               real call has returned).
 *
 * Everything on the call path is async-signal-safe (raw syscalls, no
 * malloc, no stdio): leaderrun calls read() in a child it forked from a
 * threaded process.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK	36
#define F_OFD_SETLK	37
#define F_OFD_SETLKW	38
#endif

enum call { C_OPENAT, C_READ, C_WRITE, C_CLOSE, C_RENAMEAT, C_FCNTL, C_CLOCK,
    C_ANY };
static const char *const call_names[] = { "openat", "read", "write", "close",
    "renameat", "fcntl", "clock", "*" };

enum action { A_ERRNO, A_HANG, A_STALL, A_SHORT, A_SLEEP, A_PASS, A_JUMP };

#define MAXRULES	16
#define MAXFD		4096
#define NAMELEN		160

struct rule {
	enum call	 call;
	enum action	 action;
	int		 err;
	char		 match[64];
	long		 after, count, byte, ms;
	long		 seen, injected;	/* updated atomically */
	char		 verdict[24];
	char		 trigger[4096];	/* while=, else LR_FAULT_FILE */
};

static struct rule rules[MAXRULES];
static int nrules;
static char trigger[4096];
static int logfd = -1;
static char fdname[MAXFD][NAMELEN];	/* names of descriptors from openat */

static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_fcntl)(int, int, ...);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_clock_gettime)(clockid_t, struct timespec *);

static const struct { const char *name; int err; } errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EACCES", EACCES },
	{ "EPERM", EPERM }, { "EROFS", EROFS }, { "EDQUOT", EDQUOT },
	{ "ENOLCK", ENOLCK }, { "ESTALE", ESTALE }, { "EAGAIN", EAGAIN },
	{ "EINTR", EINTR }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
	{ "ENOMEM", ENOMEM }, { "ENOENT", ENOENT }, { "EEXIST", EEXIST },
	{ "ETIMEDOUT", ETIMEDOUT }, { "EBADF", EBADF }, { "EFBIG", EFBIG },
	{ "EDEADLK", EDEADLK }, { "EINVAL", EINVAL }, { "EXDEV", EXDEV },
	{ "ENAMETOOLONG", ENAMETOOLONG }, { "ELOOP", ELOOP },
	{ "EISDIR", EISDIR }, { "ENOTDIR", ENOTDIR }, { "EBUSY", EBUSY },
};

/* ---- async-signal-safe helpers -------------------------------------- */

static size_t
put_str(char *buf, size_t o, size_t len, const char *s)
{
	while (*s && o + 1 < len)
		buf[o++] = *s++;
	return o;
}

static size_t
put_num(char *buf, size_t o, size_t len, unsigned long long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0 && o + 1 < len)
		buf[o++] = tmp[--n];
	return o;
}

static void
log_call(const char *name, const char *file, const char *verdict)
{
	char buf[512];
	struct timespec ts;
	size_t o = 0;

	if (logfd == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	o = put_num(buf, o, sizeof(buf),
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	o = put_str(buf, o, sizeof(buf), " ");
	o = put_num(buf, o, sizeof(buf), (unsigned long long)syscall(SYS_getpid));
	o = put_str(buf, o, sizeof(buf), " ");
	o = put_str(buf, o, sizeof(buf), name);
	o = put_str(buf, o, sizeof(buf), " ");
	o = put_str(buf, o, sizeof(buf), file[0] ? file : "-");
	o = put_str(buf, o, sizeof(buf), " ");
	o = put_str(buf, o, sizeof(buf), verdict);
	buf[o++] = '\n';
	(void)syscall(SYS_write, logfd, buf, o);
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* trigger_on: the rules with trigger file T apply now. */
static int
trigger_on(const char *t)
{
	return t[0] == '\0' || syscall(SYS_faccessat, AT_FDCWD, t, F_OK) == 0;
}

static const char *
base(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

/* A lease or lock file: the calls on these are logged. */
static int
store_file(const char *file)
{
	return file && (strstr(file, ".lease") || strstr(file, ".lock"));
}

/*
 * decide: the rule that applies to call C on FILE (and fcntl lock BYTE, -1
 * if none), counted, or NULL.
 */
static struct rule *
decide(enum call c, const char *file, long byte)
{
	int i;

	if (file == NULL || file[0] == '\0')
		return NULL;
	for (i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		long seen;

		if (c == C_CLOCK ? r->call != C_CLOCK :
		    r->call != C_ANY && r->call != c)
			continue;
		if (c == C_CLOCK)
			;	/* no file */
		else if (r->match[0]) {
			if (strstr(file, r->match) == NULL)
				continue;
		} else if (strstr(file, c == C_FCNTL ? ".lock" : ".lease") == NULL)
			continue;
		if (c == C_FCNTL && r->byte >= 0 && r->byte != byte)
			continue;
		if (!trigger_on(r->trigger))
			continue;
		seen = __atomic_fetch_add(&r->seen, 1, __ATOMIC_SEQ_CST);
		if (seen < r->after)
			return NULL;
		if (r->count >= 0 &&
		    __atomic_fetch_add(&r->injected, 1, __ATOMIC_SEQ_CST) >= r->count)
			return NULL;
		return r;
	}
	return NULL;
}

static void
hang(void)
{
	for (;;)
		sleep_ms(1000);
}

/* Run the delaying part of rule R; returns 1 if the call should then fail
 * with errno set, 0 if it should go ahead (A_SHORT is left to the caller). */
static int
apply(struct rule *r, const char *name, const char *file)
{
	log_call(name, file, r->verdict);
	switch (r->action) {
	case A_ERRNO:
		errno = r->err;
		return 1;
	case A_HANG:
		hang();
		return 0;
	case A_STALL:
		while (r->trigger[0] && syscall(SYS_faccessat, AT_FDCWD,
		    r->trigger, F_OK) == 0)
			sleep_ms(5);
		return 0;
	case A_SLEEP:
		sleep_ms(r->ms);
		return 0;
	default:
		return 0;
	}
}

static const char *
fd_file(int fd)
{
	if (fd < 0 || fd >= MAXFD)
		return NULL;
	return fdname[fd][0] ? fdname[fd] : NULL;
}

/* ---- setup ---------------------------------------------------------- */

static void
parse_rule(char *s)
{
	struct rule *r;
	char *f[8], *p;
	int nf = 0, i;
	size_t k;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || nrules == MAXRULES)
		return;
	for (p = s; nf < 8; ) {
		f[nf++] = p;
		if ((p = strchr(p, ':')) == NULL)
			break;
		*p++ = '\0';
	}
	if (nf < 2)
		return;
	r = &rules[nrules];
	memset(r, 0, sizeof(*r));
	r->call = C_ANY + 1;
	for (i = 0; i <= C_ANY; i++)
		if (!strcmp(f[0], call_names[i]))
			r->call = (enum call)i;
	if (r->call > C_ANY)
		return;
	r->count = -1;
	r->byte = -1;
	snprintf(r->verdict, sizeof(r->verdict), "%s", f[1]);
	if (!strcmp(f[1], "hang"))
		r->action = A_HANG;
	else if (!strcmp(f[1], "stall"))
		r->action = A_STALL;
	else if (!strcmp(f[1], "short"))
		r->action = A_SHORT;
	else if (!strcmp(f[1], "sleep"))
		r->action = A_SLEEP;
	else if (!strcmp(f[1], "pass"))
		r->action = A_PASS;
	else if (!strcmp(f[1], "jump") && r->call == C_CLOCK)
		r->action = A_JUMP;
	else {
		r->action = A_ERRNO;
		r->err = atoi(f[1]);
		for (k = 0; k < sizeof(errnos) / sizeof(errnos[0]); k++)
			if (!strcmp(f[1], errnos[k].name))
				r->err = errnos[k].err;
		if (r->err <= 0)
			return;
	}
	for (i = 2; i < nf; i++) {
		if (!strncmp(f[i], "match=", 6))
			snprintf(r->match, sizeof(r->match), "%s", f[i] + 6);
		else if (!strncmp(f[i], "after=", 6))
			r->after = atol(f[i] + 6);
		else if (!strncmp(f[i], "count=", 6))
			r->count = atol(f[i] + 6);
		else if (!strncmp(f[i], "byte=", 5))
			r->byte = atol(f[i] + 5);
		else if (!strncmp(f[i], "ms=", 3))
			r->ms = atol(f[i] + 3);
		else if (!strncmp(f[i], "while=", 6))
			snprintf(r->trigger, sizeof(r->trigger), "%s", f[i] + 6);
	}
	if (r->trigger[0] == '\0')
		snprintf(r->trigger, sizeof(r->trigger), "%s", trigger);
	if ((r->call == C_CLOCK) != (r->action == A_JUMP))
		return;		/* the clock only jumps, only the clock jumps */
	nrules++;
}

__attribute__((constructor)) static void
faultshim_init(void)
{
	const char *v;
	char buf[2048], *s, *save = NULL;

	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_renameat = (int (*)(int, const char *, int, const char *))
	    dlsym(RTLD_NEXT, "renameat");
	real_fcntl = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
	real_pread = (ssize_t (*)(int, void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pread");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite");
	real_clock_gettime = (int (*)(clockid_t, struct timespec *))
	    dlsym(RTLD_NEXT, "clock_gettime");

	if ((v = getenv("LR_FAULT_FILE")) != NULL)
		snprintf(trigger, sizeof(trigger), "%s", v);
	if ((v = getenv("LR_FAULT_LOG")) != NULL && *v)
		logfd = (int)syscall(SYS_openat, AT_FDCWD, v,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if ((v = getenv("LR_FAULT")) == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", v);
	for (s = strtok_r(buf, ";\n", &save); s; s = strtok_r(NULL, ";\n", &save))
		parse_rule(s);
}

/* ---- the wrappers ---------------------------------------------------- */

/* Log the outcome of a real call on a store file. */
static void
log_result(const char *name, const char *file, long rc)
{
	if (store_file(file))
		log_call(name, file, rc >= 0 ? "pass" : "error");
}

static int
do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	const char *b = path ? base(path) : NULL;
	struct rule *r;
	int fd;

	if (real_openat == NULL)
		return (int)syscall(SYS_openat, dirfd, path, flags, mode);
	r = decide(C_OPENAT, b, -1);
	if (r && apply(r, "openat", b))
		return -1;
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0 && fd < MAXFD) {
		if (store_file(b)) {
			size_t n = strlen(b);

			if (n >= NAMELEN)
				n = NAMELEN - 1;
			memcpy(fdname[fd], b, n);
			fdname[fd][n] = '\0';
		} else
			fdname[fd][0] = '\0';
	}
	if (!r)
		log_result("openat", b, fd);
	return fd;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_openat(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return do_openat(dirfd, path, flags, mode);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	const char *file = fd_file(fd);
	struct rule *r;
	ssize_t got;

	if (real_read == NULL)
		return syscall(SYS_read, fd, buf, n);
	if (file == NULL)
		return real_read(fd, buf, n);
	r = decide(C_READ, file, -1);
	if (r && apply(r, "read", file))
		return -1;
	got = real_read(fd, buf, n);
	if (r && r->action == A_SHORT && got > 1)
		got /= 2;	/* torn: the caller never sees the rest */
	if (!r)
		log_result("read", file, got);
	return got;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	const char *file = fd_file(fd);
	struct rule *r;
	ssize_t w;

	if (real_write == NULL)
		return syscall(SYS_write, fd, buf, n);
	if (file == NULL)
		return real_write(fd, buf, n);
	r = decide(C_WRITE, file, -1);
	if (r && apply(r, "write", file))
		return -1;
	if (r && r->action == A_SHORT && n > 1)
		n /= 2;
	w = real_write(fd, buf, n);
	if (!r)
		log_result("write", file, w);
	return w;
}

int
close(int fd)
{
	char file[NAMELEN];
	struct rule *r = NULL;
	int rc, fail = 0, e = 0;

	if (real_close == NULL)
		return (int)syscall(SYS_close, fd);
	if (fd < 0 || fd >= MAXFD || fdname[fd][0] == '\0')
		return real_close(fd);
	memcpy(file, fdname[fd], NAMELEN);
	fdname[fd][0] = '\0';	/* before the number can be reused */
	r = decide(C_CLOSE, file, -1);
	if (r && apply(r, "close", file)) {
		fail = 1;
		e = errno;
	}
	rc = real_close(fd);	/* like NFS: the fd is gone even on error */
	if (fail) {
		errno = e;
		return -1;
	}
	if (!r)
		log_result("close", file, rc);
	return rc;
}

int
renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	const char *b = newpath ? base(newpath) : NULL;
	struct rule *r;
	int rc;

	if (real_renameat == NULL)
		return (int)syscall(SYS_renameat, olddirfd, oldpath, newdirfd,
		    newpath);
	r = decide(C_RENAMEAT, b, -1);
	if (r && apply(r, "renameat", b))
		return -1;
	rc = real_renameat(olddirfd, oldpath, newdirfd, newpath);
	if (!r)
		log_result("renameat", b, rc);
	return rc;
}

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	const char *file = fd_file(fd);
	struct rule *r;
	ssize_t got;

	if (real_pread == NULL)
		return syscall(SYS_pread64, fd, buf, n, off);
	if (file == NULL)
		return real_pread(fd, buf, n, off);
	r = decide(C_READ, file, -1);
	if (r && apply(r, "pread", file))
		return -1;
	got = real_pread(fd, buf, n, off);
	if (r && r->action == A_SHORT && got > 1)
		got /= 2;
	if (!r)
		log_result("pread", file, got);
	return got;
}

ssize_t
pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	const char *file = fd_file(fd);
	struct rule *r;
	ssize_t w;

	if (real_pwrite == NULL)
		return syscall(SYS_pwrite64, fd, buf, n, off);
	if (file == NULL)
		return real_pwrite(fd, buf, n, off);
	r = decide(C_WRITE, file, -1);
	if (r && apply(r, "pwrite", file))
		return -1;
	if (r && r->action == A_SHORT && n > 1)
		n /= 2;
	w = real_pwrite(fd, buf, n, off);
	if (!r)
		log_result("pwrite", file, w);
	return w;
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

static int
do_fcntl(int fd, int cmd, void *arg)
{
	const char *file = fd_file(fd);
	struct rule *r;
	int rc;
	int setlk = cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK ||
	    cmd == F_OFD_SETLKW;

	if (real_fcntl == NULL)
		return (int)syscall(SYS_fcntl, fd, cmd, arg);
	/* Only taking a record lock can fail: unlocking is not a fault the
	 * supervisor could act on, and the kernel drops locks at exit. */
	if (file == NULL || !setlk || ((struct flock *)arg)->l_type == F_UNLCK)
		return real_fcntl(fd, cmd, arg);
	r = decide(C_FCNTL, file, (long)((struct flock *)arg)->l_start);
	if (r && apply(r, "fcntl", file))
		return -1;
	rc = real_fcntl(fd, cmd, arg);
	if (!r)
		log_result("fcntl", file, rc);
	return rc;
}

int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);	/* int or pointer: same register */
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	struct rule *r;
	int rc;

	if (real_clock_gettime == NULL)
		return (int)syscall(SYS_clock_gettime, id, ts);
	rc = real_clock_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_MONOTONIC || id == CLOCK_BOOTTIME) &&
	    (r = decide(C_CLOCK, "clock", -1)) != NULL) {
		ts->tv_sec += r->ms / 1000;
		ts->tv_nsec += r->ms % 1000 * 1000000L;
		if (ts->tv_nsec >= 1000000000L) {
			ts->tv_sec++;
			ts->tv_nsec -= 1000000000L;
		}
	}
	return rc;
}
