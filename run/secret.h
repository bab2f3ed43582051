/*
 * secret.h - the store user's password: from a private file or the
 * environment, never from the command line.
 */
#ifndef SECRET_H
#define SECRET_H

/*
 * store_password: the password from FILE (--store-password-file, which
 * wins; NULL for none) or LEADERRUN_STORE_PASSWORD, or NULL if neither.
 * The variable leaves our environment, so the command does not inherit
 * it.  A file that is missing, empty, or open to group or others exits
 * 125.  Returns a static buffer.
 */
const char *store_password(const char *file);

#endif
