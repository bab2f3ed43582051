/*
 * file_record.h - the file store's record: NAME.lease holds two slots of
 * RECORD_SLOT bytes, each "key=value" lines after a magic line, a write
 * number and an FNV-1a checksum line, padded with spaces.  A writer fills
 * the slot that is not current, so a crash or a failed write always leaves
 * one good record; a reader takes the valid slot with the higher number.
 */
#ifndef FILE_RECORD_H
#define FILE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "lease.h"

#define RECORD_SLOT	512	/* one record, padded with spaces */
#define RECORD_MAX	(2 * RECORD_SLOT)
#define RECORD_MAGIC	"leaderrun-lease 1"

struct record {
	struct lease_holder h;	/* state, id, host, pid, job, term, acquired,
				 * renewed, renewals, lease_ms, done */
	char		 sys[80];	/* boot and PID namespace (host.h) */
	unsigned long long start;	/* the holder's start time */
	uint64_t	 seq;		/* write number: the higher slot wins */
};

/*
 * record_format: *R as one slot into BUF (RECORD_SLOT bytes, padded, the
 * last byte a newline).  Returns 0, or -1 when it does not fit.
 */
int	record_format(const struct record *r, char *buf);

/*
 * record_parse: one slot, BUF of LEN bytes, into *R; *OK is 1 only for a
 * complete record whose checksum matches.  Bytes after the sum line are
 * padding and ignored.
 */
void	record_parse(const char *buf, size_t len, struct record *r, int *ok);

/*
 * record_parse_file: the current record of a lease file's bytes BUF (LEN):
 * the valid slot with the higher write number.  Returns 1 with *R filled,
 * 0 when no slot is valid.  *VERSION identifies what was chosen (a torn or
 * garbled file gets a version of its own bytes).
 */
int	record_parse_file(const char *buf, size_t len, struct record *r,
	    uint64_t *version);

/* record_sum: FNV-1a of BUF (LEN bytes), as the sum line holds it. */
uint64_t record_sum(const char *buf, size_t len);

#endif
