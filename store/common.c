/*
 * common.c - what every store shares, below lease.c: the lease-name rule,
 * the user-name rule of a store URL, and the warning a store leaves for
 * lease_warning.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

void
lease_warn(struct lease *l, const char *fmt, ...)
{
	va_list ap;

	int i = l->nwarn < 2 ? l->nwarn++ : 1;	/* full: the newest wins */

	va_start(ap, fmt);
	vsnprintf(l->warning[i], sizeof(l->warning[i]), fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
}

int
lease_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;
		if (!(isalnum(c) && c < 128) && !strchr("._@+:-", c))
			return 0;
	}
	return 1;
}

int
store_url_user(const char *url, const char *p, const char *at, char *user,
    size_t len, char *err)
{
	size_t n = 0;

	if (p == at) {
		seterr(err, "store '%.64s': empty user before '@'", url);
		return -1;
	}
	for (; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			unsigned int x;

			if (at - p < 3 || !isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]) ||
			    sscanf(p + 1, "%2x", &x) != 1) {
				seterr(err, "store '%.64s': bad %%-escape in the "
				    "user", url);
				return -1;
			}
			c = (unsigned char)x;
			p += 2;
			if (c < 0x20 || c == 0x7f) {
				seterr(err, "store '%.64s': control character in "
				    "the user", url);
				return -1;
			}
		} else if (!(isalnum(c) && c < 128) && !strchr("-._~!$&'()*+,;=@", c)) {
			seterr(err, "store '%.64s': the user name may hold only "
			    "A-Z a-z 0-9 -._~!$&'()*+,;=@ and %%XX escapes", url);
			return -1;
		}
		if (n + 1 >= len) {
			seterr(err, "store '%.64s': user too long", url);
			return -1;
		}
		user[n++] = (char)c;
	}
	user[n] = '\0';
	return 0;
}

const char *
store_url_authority(const char *p)
{
	for (; *p && *p != '/'; p++)
		if (*p == '[')
			while (p[1] && p[1] != ']')
				p++;
	return p;
}

void
store_farewell_to(struct lease_farewell *f, const struct net_ep *ep)
{
	struct sockaddr_storage ss[LEASE_FAREWELL_ADDRS];
	socklen_t lens[LEASE_FAREWELL_ADDRS];
	char err[LEASE_ERRLEN];
	int k, got = net_resolve(ep, ss, lens, LEASE_FAREWELL_ADDRS, err);

	for (k = 0; k < got && f->n < LEASE_FAREWELL_ADDRS; k++) {
		f->addr[f->n] = ss[k];
		f->addrlen[f->n] = lens[k];
		f->n++;
	}
}
