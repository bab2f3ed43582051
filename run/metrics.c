/*
 * metrics.c - the --metrics file, in Prometheus text format.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base.h"
#include "run/log.h"
#include "run/metrics.h"

/* label_value: V escaped for a Prometheus label value, on F. */
static void
label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* One sample: NAME{lease="...",node="..."EXTRA} VALUE. */
static void
sample(FILE *f, const struct metrics *m, const char *name, const char *extra,
    const char *value)
{
	fprintf(f, "%s{lease=\"", name);
	label_value(f, m->name);
	fputs("\",node=\"", f);
	label_value(f, m->node_id);
	fprintf(f, "\"%s} %s\n", extra, value);
}

/* One family: its HELP and TYPE lines, then its one sample of VALUE
 * (NULL: the caller writes its samples). */
static void
family(FILE *f, const struct metrics *m, const char *name, const char *type,
    const char *help, const char *value)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (value)
		sample(f, m, name, "", value);
}

/* metrics_text: the exposition of M into F at NOW. */
static void
metrics_text(FILE *f, const struct metrics *m, int64_t now)
{
	int64_t led = m->led_ns + (m->leader ? now - m->lead_since : 0);
	char v[48];

	family(f, m, "leaderrun_leader", "gauge",
	    "1 while this instance holds the lease, else 0.",
	    m->leader ? "1" : "0");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->term);
	family(f, m, "leaderrun_term", "gauge",
	    "Term (fencing token) of this instance's current or last "
	    "leadership; 0 before the first.", v);
	snprintf(v, sizeof(v), "%d", m->slot);
	family(f, m, "leaderrun_slot", "gauge",
	    "Slot (--slots, 0 to N-1) of this instance's current or last "
	    "leadership; 0 before the first.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->elections);
	family(f, m, "leaderrun_elections_total", "counter",
	    "Times this instance was elected.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->losses_deadline);
	family(f, m, "leaderrun_losses_total", "counter",
	    "Leaderships lost, by reason: renew_deadline (no renewal within "
	    "renew-deadline), lost (the store says the lease is gone or "
	    "taken).", NULL);
	sample(f, m, "leaderrun_losses_total", ",reason=\"renew_deadline\"", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->losses_store);
	sample(f, m, "leaderrun_losses_total", ",reason=\"lost\"", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->renewals);
	family(f, m, "leaderrun_renewals_total", "counter",
	    "Successful renewals of the lease.", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)m->renew_failures);
	family(f, m, "leaderrun_renew_failures_total", "counter",
	    "Renewals that failed with an error.", v);
	if (m->renewed_ms != 0) {
		snprintf(v, sizeof(v), "%lld.%03d",
		    (long long)(m->renewed_ms / 1000), (int)(m->renewed_ms % 1000));
		family(f, m, "leaderrun_last_renewal_timestamp_seconds", "gauge",
		    "Wall-clock time of the last successful renewal, for "
		    "display; absent before the first.", v);
	}
	snprintf(v, sizeof(v), "%lld.%03d", (long long)(led / NS_PER_S),
	    (int)(led % NS_PER_S / NS_PER_MS));
	family(f, m, "leaderrun_leader_seconds_total", "counter",
	    "Time this instance held the lease, on its monotonic clock.", v);
	if (m->exit_status >= 0) {
		snprintf(v, sizeof(v), "%d", m->exit_status);
		family(f, m, "leaderrun_command_exit_status", "gauge",
		    "Exit status leaderrun gives for the command (124: stopped "
		    "on a lost lease); absent until it has ended.", v);
	}
}

/* metrics_fail: a write of the metrics file failed; say so once per error. */
static void
metrics_fail(struct metrics *m, const char *what, const char *file, int e)
{
	char msg[sizeof(m->last_err)];

	snprintf(msg, sizeof(msg), "%s %s: %s", what, file, strerror(e));
	if (strcmp(msg, m->last_err) != 0)
		warnx("warning: metrics: %s", msg);
	snprintf(m->last_err, sizeof(m->last_err), "%s", msg);
}

/*
 * metrics_write: write the --metrics file as node_exporter's textfile
 * collector wants it: a new file (mode 0644) beside it, renamed over it, so
 * a reader never sees half of one.  Called on the event loop: a local file
 * takes microseconds; the file must not sit on a file system that can hang
 * (the watchdog still stops the command on time if it does).  A failure is
 * a warning, never a reason to stop.
 */
void
metrics_write(struct metrics *m, int64_t now)
{
	char tmp[PATH_MAX + 32], *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f;
	int fd, e;
	ssize_t w;

	if (m->file == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", m->file,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		metrics_fail(m, "write", m->file, ENAMETOOLONG);
		return;
	}
	if ((f = open_memstream(&buf, &len)) == NULL) {
		metrics_fail(m, "write", m->file, errno);
		return;
	}
	metrics_text(f, m, now);
	if (fclose(f) == EOF) {
		metrics_fail(m, "write", m->file, errno);
		free(buf);
		return;
	}
	/* A leftover of ours, or a link someone planted: never write through. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		metrics_fail(m, "remove", tmp, errno);
		free(buf);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0644);
	if (fd == -1) {
		metrics_fail(m, "create", tmp, errno);
		free(buf);
		return;
	}
	e = fchmod(fd, 0644) == -1 ? errno : 0;	/* whatever the umask */
	while (!e && off < len) {
		if ((w = write(fd, buf + off, len - off)) == -1 && errno != EINTR)
			e = errno;
		else if (w > 0)
			off += (size_t)w;
	}
	free(buf);
	if (close(fd) == -1 && !e)
		e = errno;
	if (e) {
		metrics_fail(m, "write", tmp, e);
		unlink(tmp);
		return;
	}
	if (rename(tmp, m->file) == -1) {
		metrics_fail(m, "rename", m->file, errno);
		unlink(tmp);
		return;
	}
	m->last_err[0] = '\0';
}

void
metrics_lead(struct metrics *m, int on, int64_t now)
{
	if (on && !m->leader)
		m->lead_since = now;
	else if (!on && m->leader)
		m->led_ns += now - m->lead_since;
	m->leader = on;
}

void
metrics_loss(struct metrics *m, int deadline, int64_t now)
{
	if (deadline)
		m->losses_deadline++;
	else
		m->losses_store++;
	metrics_lead(m, 0, now);
	metrics_write(m, now);
}

/* On every exit: the file says we no longer lead (marked, not removed). */
static struct metrics *at_exit;

static void
metrics_at_exit(void)
{
	int64_t now = now_ns();

	metrics_lead(at_exit, 0, now);
	metrics_write(at_exit, now);
}

void
metrics_init(struct metrics *m, const char *file, const char *name,
    const char *node_id)
{
	memset(m, 0, sizeof(*m));
	m->file = file;
	m->name = name;
	m->node_id = node_id;
	m->exit_status = -1;
	if (file == NULL)
		return;
	metrics_write(m, now_ns());
	at_exit = m;
	if (atexit(metrics_at_exit) != 0)
		die(EXIT_FAIL, "atexit: %s", strerror(errno));
}
