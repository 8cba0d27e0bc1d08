/* Exit statuses shared by wsd, wsctl and wsworker: they are an API. */
#ifndef WSD_EXITCODES_H
#define WSD_EXITCODES_H

#define EXIT_OK          0   /* success */
#define EXIT_CMDFAIL     1   /* wsctl: the command failed */
#define EXIT_USAGE       64  /* bad command line (sysexits EX_USAGE) */
#define EXIT_NODAEMON    69  /* wsctl: no daemon answers (EX_UNAVAILABLE) */
#define EXIT_TEMPFAIL    75  /* temporary failure, may be retried (EX_TEMPFAIL) */
#define EXIT_CONFIG      78  /* bad configuration: wsd never respawns it (EX_CONFIG) */

#endif
