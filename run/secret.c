/*
 * secret.c - the store user's password, read from a file only its owner
 * may access, or from LEADERRUN_STORE_PASSWORD.
 */
#include <sys/stat.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/xattr.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/log.h"
#include "run/secret.h"
#include "run/values.h"

/*
 * acl_private: -1 if FD has no POSIX ACL (or we cannot tell); 1 if it has
 * one under which nobody but its owner and we (our effective uid) may
 * access it, so that its group bits are only the ACL's mask: systemd hands
 * a service its credentials (LoadCredential=) as 0400 files with an entry
 * user:SERVICE:r, which stat shows as mode 0440; 0 if the ACL lets anyone
 * else at it.
 */
static int
acl_private(int fd)
{
#ifdef __linux__
	/* Linux's xattr form: a version (2), then {tag, perm, id} entries,
	 * all little-endian. */
	unsigned char a[4 + 8 * 64];
	ssize_t n = fgetxattr(fd, "system.posix_acl_access", a, sizeof(a)), i;

	if (n < 4 || (n - 4) % 8 != 0 || a[0] != 2 || a[1] || a[2] || a[3])
		return -1;
	for (i = 4; i < n; i += 8) {
		unsigned tag = a[i] | (unsigned)a[i + 1] << 8;
		unsigned perm = a[i + 2] | (unsigned)a[i + 3] << 8;
		unsigned long id = a[i + 4] | (unsigned long)a[i + 5] << 8 |
		    (unsigned long)a[i + 6] << 16 | (unsigned long)a[i + 7] << 24;

		if (tag == 0x01 || tag == 0x10)		/* the owner, the mask */
			continue;
		if (tag == 0x02 && id == (unsigned long)geteuid())
			continue;			/* user:US */
		if (perm & 7)	/* another user, a group, the others */
			return 0;
	}
	return 1;
#else
	(void)fd;
	return -1;
#endif
}


/*
 * password_file: the first line of PATH (without its newline) into BUF
 * (LEN bytes).  PATH must be a regular file, or a symlink to one (as
 * Kubernetes mounts secrets), that only its owner may access (and we, by
 * an ACL: see acl_private); a missing, empty or open file exits 125.
 * Never prints what it read.
 */
static void
password_file(const char *path, char *buf, size_t len)
{
	struct stat st;
	size_t n = 0, line;
	ssize_t got;
	int fd, acl = -1;
	char mode[16];

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		die(EXIT_FAIL, "store password file %s: %s", quote(path),
		    strerror(errno));
	if (fstat(fd, &st) == -1)
		die(EXIT_FAIL, "store password file %s: %s", quote(path),
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EXIT_FAIL, "store password file %s: not a regular file",
		    quote(path));
	snprintf(mode, sizeof(mode), "mode %04o", (unsigned)(st.st_mode & 07777));
	if ((st.st_mode & S_IRWXO) ||
	    ((st.st_mode & S_IRWXG) && (acl = acl_private(fd)) != 1))
		die(EXIT_FAIL, "store password file %s: %s lets group or others "
		    "at it; it must be private to its owner (chmod 600)",
		    quote(path), acl == 0 ? "its ACL" : mode);
	while (n < len - 1 && (got = read(fd, buf + n, len - 1 - n)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			die(EXIT_FAIL, "store password file %s: %s", quote(path),
			    strerror(errno));
		n += (size_t)got;
		if (memchr(buf, '\n', n))
			break;
	}
	close(fd);
	for (line = 0; line < n && buf[line] != '\n'; line++)
		;
	if (line == len - 1)
		die(EXIT_FAIL, "store password file %s: first line longer than "
		    "%zu bytes", quote(path), len - 2);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	memset(buf + line, 0, len - line);
	if (line == 0)
		die(EXIT_FAIL, "store password file %s: no password on its first "
		    "line", quote(path));
	if (strlen(buf) != line)
		die(EXIT_FAIL, "store password file %s: NUL byte in the password",
		    quote(path));
}


const char *
store_password(const char *file)
{
	static char pw[4096];
	const char *env = getenv("LEADERRUN_STORE_PASSWORD");

	if (env && !file) {
		if (strlen(env) >= sizeof(pw))
			die(EXIT_FAIL, "LEADERRUN_STORE_PASSWORD: longer than %zu "
			    "bytes", sizeof(pw) - 1);
		strcpy(pw, env);
	}
	if (unsetenv("LEADERRUN_STORE_PASSWORD") == -1)
		die(EXIT_FAIL, "unsetenv: %s", strerror(errno));
	if (file)
		password_file(file, pw, sizeof(pw));
	return pw[0] ? pw : NULL;
}
