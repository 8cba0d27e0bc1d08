/*
 * The control protocol envelope (docs/control-protocol.md): one JSON object
 * per line, a version, an echoed request id, ok/data or ok/error.
 */
#ifndef WSD_PROTO_H
#define WSD_PROTO_H

#include <jansson.h>

#define PROTO_VERSION	1

struct proto_request {
	json_t		*id;	/* echoed as given (number, string or null) */
	const char	*cmd;
	json_t		*args;	/* always an object (empty when absent) */
	json_t		*root;	/* owns the above */
};

/*
 * Parse one request line.  On failure returns -1 with *code and *msg set to
 * a static error code ("bad_json", "bad_request", "bad_version") and a
 * message (malloc'd); req->id is still set when it could be read.
 */
int	proto_parse_request(const char *line, size_t len,
	    struct proto_request *req, const char **code, char **msg);
void	proto_request_free(struct proto_request *);

/* Encoded reply lines, '\n'-terminated, malloc'd.  `data` is stolen. */
char	*proto_reply_ok(json_t *id, json_t *data);
char	*proto_reply_error(json_t *id, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Same with extra members in error (e.g. "errors":[…]); `extra` stolen. */
char	*proto_reply_error_ex(json_t *id, const char *code, json_t *extra,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A config_error reply carrying every message of `errors` (the first is
 * the error's message). */
struct diag;
char	*proto_reply_config_error(json_t *id, const struct diag *errors);

/* Encode a request line (for wsctl), '\n'-terminated, malloc'd. */
char	*proto_request_line(long id, const char *cmd, json_t *args /* stolen */);

/* Encode any JSON value as one line ending in '\n', malloc'd. */
char	*proto_line(json_t *v);

#endif
