/* wsctl: finds the daemon's socket, picks the command's row, runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

/* Every command group; a new group is one row here (see ctl.h). */
static const struct ctl_cmd *groups[] = {
	cmd_apps_cmds,
	cmd_info_cmds,
	cmd_metrics_cmds,
	cmd_monit_cmds,
	cmd_logs_cmds,
	cmd_daemon_cmds,
	cmd_token_cmds,
	cmd_pm2_cmds,
	startup_cmds,
	NULL
};

static void
ctl_help(FILE *f)
{
	const struct ctl_cmd *c;
	size_t g;

	fprintf(f, "usage: wsctl [--json] [--no-color] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (g = 0; groups[g] != NULL; g++) {
		for (c = groups[g]; c->name != NULL; c++) {
			fprintf(f, "  %s", c->name);
			if (c->usage != NULL && *c->usage != '\0')
				fprintf(f, " %s", c->usage);
			if (c->aliases != NULL)
				fprintf(f, "   (also: %s)", c->aliases);
			fputc('\n', f);
		}
	}
	fprintf(f, "\n--json prints the daemon's reply data.  Exit status: "
	    "0 ok, 1 failed, 64 usage,\n69 daemon not running, "
	    "78 configuration error.\n");
}

static int
ctl_alias_match(const char *aliases, const char *name)
{
	size_t n = strlen(name);
	const char *p = aliases;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	}
	return 0;
}

static const struct ctl_cmd *
ctl_find(const char *name)
{
	const struct ctl_cmd *c;
	size_t g;

	for (g = 0; groups[g] != NULL; g++) {
		for (c = groups[g]; c->name != NULL; c++) {
			if (strcmp(c->name, name) == 0 ||
			    ctl_alias_match(c->aliases, name))
				return c;
		}
	}
	return NULL;
}

static void
ctl_paths(struct ctl *ctl)
{
	/* Too long to fit: the socket path fails to connect and says so. */
	(void)fsutil_home(ctl->home, sizeof ctl->home);
	snprintf(ctl->sock, sizeof ctl->sock, "%s/wsd.sock", ctl->home);
}

int
main(int argc, char **argv)
{
	static struct ctl ctl;
	const char *nc;
	char **av;
	int ac = 0, i, rc, after_dashes = 0;

	/* Out of memory: one line on stderr, then abort (xmalloc.h). */
	log_set_fd(STDERR_FILENO);
	xmalloc_jansson();
	ctl.fd = -1;
	ctl_paths(&ctl);
	nc = getenv("NO_COLOR");
	ctl.colour = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');

	/*
	 * --json and --no-color (PM2's spelling; also --no-colour) are global
	 * and may come anywhere before "--".
	 */
	av = xcalloc(argc + 1, sizeof *av);
	for (i = 1; i < argc; i++) {
		if (!after_dashes && strcmp(argv[i], "--json") == 0) {
			ctl.json = 1;
			continue;
		}
		if (!after_dashes && (strcmp(argv[i], "--no-color") == 0 ||
		    strcmp(argv[i], "--no-colour") == 0)) {
			ctl.colour = 0;
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			after_dashes = 1;
		av[ac++] = argv[i];
	}
	av[ac] = NULL;

	if (ac == 0) {
		ctl_help(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (strcmp(av[0], "help") == 0 || strcmp(av[0], "--help") == 0 ||
	    strcmp(av[0], "-h") == 0) {
		ctl_help(stdout);
		rc = EXIT_OK;
		goto out;
	}
	if ((ctl.cmd = ctl_find(av[0])) == NULL) {
		ctl_warn("unknown command: %s", av[0]);
		ctl_help(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	for (i = 1; i < ac; i++) {
		if (strcmp(av[i], "--") == 0)
			break;
		if (strcmp(av[i], "-h") == 0 || strcmp(av[i], "--help") == 0) {
			printf("usage: wsctl %s %s\n", ctl.cmd->name,
			    ctl.cmd->usage);
			rc = EXIT_OK;
			goto out;
		}
	}
	rc = ctl.cmd->exec(&ctl, ac, av);
	client_close(&ctl);
out:
	if (fflush(stdout) == EOF && rc == EXIT_OK)
		rc = EXIT_CMDFAIL;
	free(av);
	return rc;
}
