/*
 * report.h - --status and --list, on stdout.
 */
#ifndef REPORT_H
#define REPORT_H

struct opts;

/* show_status: who holds the lease O->name; 0 if it is held, 1 if it is
 * free or released.  A store that cannot be read exits 125. */
int	show_status(const struct opts *o);

/*
 * show_list: every lease of the store, as an aligned table (NAME STATE
 * HOLDER HOST TERM AGE) or, with --json, an array of --status objects.
 * 0 when the store could be listed, whatever the leases' states; 125 if it
 * could not.  Entries that were skipped are warnings on stderr.
 */
int	show_list(const struct opts *o);

#endif
