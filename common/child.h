/*
 * The start of a forked child, between fork and exec (async-signal-safe
 * calls only): shared by wsd's instances (supervisor/proc.c) and the
 * .config.js evaluator (common/eco_js.c).
 */
#ifndef WSD_CHILD_H
#define WSD_CHILD_H

#include <sys/types.h>

#include <stddef.h>

/* Every signal to its default, none blocked, a process group of its own. */
void	child_reset(void);
/* Become uid: the groups first, then gid, then uid; -1 with errno. */
int	child_become(const gid_t *groups, size_t ngroups, gid_t gid,
	    uid_t uid);

#endif
