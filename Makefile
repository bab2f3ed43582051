# leaderrun - run a command on one elected instance only.
.POSIX:

PREFIX	= /usr/local
BINDIR	= $(PREFIX)/bin
MANDIR	= $(PREFIX)/share/man
CC	= cc
CFLAGS	= -O2 -g
WARN	= -std=c11 -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wwrite-strings \
	  -Werror=implicit-function-declaration
CPPFLAGS = -D_POSIX_C_SOURCE=200809L
LDLIBS	= -lpthread
BATS	= bats

all: leaderrun

leaderrun: leaderrun.c lease.c lease.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ leaderrun.c lease.c $(LDLIBS)

test: leaderrun
	LEADERRUN=$(CURDIR)/leaderrun $(BATS) tests

install: leaderrun
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp leaderrun $(DESTDIR)$(BINDIR)/leaderrun
	chmod 755 $(DESTDIR)$(BINDIR)/leaderrun
	cp man/leaderrun.1 $(DESTDIR)$(MANDIR)/man1/leaderrun.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/leaderrun.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/leaderrun $(DESTDIR)$(MANDIR)/man1/leaderrun.1

clean:
	rm -f leaderrun *.o

.PHONY: all test install uninstall clean
