/*
 * supervise.h - run mode: contend for the lease, run the command while we
 * lead, stop it before anyone else can take over.
 */
#ifndef SUPERVISE_H
#define SUPERVISE_H

struct opts;

/* supervise: run O->argv under the lease O->name; never returns: exits
 * with the command's status or one of leaderrun's own (log.h). */
_Noreturn int supervise(struct opts *o);

#endif
