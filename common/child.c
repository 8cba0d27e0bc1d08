/* The start of a forked child: signals, process group, credentials. */
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "child.h"

void
child_reset(void)
{
	struct sigaction sa;
	sigset_t none;
	int i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
}

int
child_become(const gid_t *groups, size_t ngroups, gid_t gid, uid_t uid)
{
	if (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 ||
	    setuid(uid) < 0)
		return -1;
	return 0;
}
