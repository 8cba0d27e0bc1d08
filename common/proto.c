/* The control protocol envelope: request parsing and reply encoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "proto.h"

static char *
proto_strdupf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int
proto_parse_request(const char *line, size_t len, struct proto_request *req,
    const char **code, char **msg)
{
	json_error_t err;
	json_t *v, *cmd, *args;

	memset(req, 0, sizeof *req);
	*msg = NULL;
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (req->root == NULL) {
		*code = "bad_json";
		if (asprintf(msg, "invalid JSON at column %d: %s",
		    err.column, err.text) < 0)
			*msg = NULL;
		return -1;
	}
	if (!json_is_object(req->root)) {
		*code = "bad_request";
		*msg = strdup("a request is a JSON object");
		return -1;
	}
	req->id = json_object_get(req->root, "id");
	v = json_object_get(req->root, "v");
	if (v == NULL || !json_is_integer(v) ||
	    json_integer_value(v) != PROTO_VERSION) {
		*code = "bad_version";
		if (asprintf(msg, "unsupported protocol version (this daemon "
		    "speaks v%d)", PROTO_VERSION) < 0)
			*msg = NULL;
		return -1;
	}
	cmd = json_object_get(req->root, "cmd");
	if (!json_is_string(cmd)) {
		*code = "bad_request";
		*msg = strdup("\"cmd\" must be a string");
		return -1;
	}
	req->cmd = json_string_value(cmd);
	args = json_object_get(req->root, "args");
	if (args == NULL || json_is_null(args)) {
		args = json_object();
		json_object_set_new(req->root, "args", args);
	} else if (!json_is_object(args)) {
		*code = "bad_request";
		*msg = strdup("\"args\" must be an object");
		return -1;
	}
	req->args = args;
	return 0;
}

void
proto_request_free(struct proto_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof *req);
}

char *
proto_line(json_t *v)
{
	char *s, *out;
	size_t n;

	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((out = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

static json_t *
proto_envelope(json_t *id, int ok)
{
	json_t *r = json_object();

	json_object_set_new(r, "v", json_integer(PROTO_VERSION));
	json_object_set(r, "id", id != NULL ? id : json_null());
	json_object_set_new(r, "ok", json_boolean(ok));
	return r;
}

char *
proto_reply_ok(json_t *id, json_t *data)
{
	json_t *r = proto_envelope(id, 1);
	char *s;

	json_object_set_new(r, "data", data != NULL ? data : json_object());
	s = proto_line(r);
	json_decref(r);
	return s;
}

static char *
proto_reply_error_va(json_t *id, const char *code, json_t *extra,
    const char *fmt, va_list ap)
{
	json_t *r = proto_envelope(id, 0), *e;
	char *m, *s;

	m = proto_strdupf(fmt, ap);
	e = json_object();
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "msg", m != NULL ? json_string(m) : json_string(code));
	free(m);
	if (extra != NULL) {
		json_object_update(e, extra);
		json_decref(extra);
	}
	json_object_set_new(r, "error", e);
	s = proto_line(r);
	json_decref(r);
	return s;
}

char *
proto_reply_error(json_t *id, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = proto_reply_error_va(id, code, NULL, fmt, ap);
	va_end(ap);
	return s;
}

char *
proto_reply_error_ex(json_t *id, const char *code, json_t *extra,
    const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = proto_reply_error_va(id, code, extra, fmt, ap);
	va_end(ap);
	return s;
}

char *
proto_reply_config_error(json_t *id, const struct diag *errors)
{
	json_t *e = json_array();
	size_t i;

	for (i = 0; i < errors->n; i++)
		json_array_append_new(e, json_string(errors->msgs[i]));
	return proto_reply_error_ex(id, "config_error",
	    json_pack("{so}", "errors", e), "%s",
	    errors->n > 0 ? errors->msgs[0] : "configuration error");
}

char *
proto_request_line(long id, const char *cmd, json_t *args)
{
	json_t *r = json_object();
	char *s;

	json_object_set_new(r, "v", json_integer(PROTO_VERSION));
	json_object_set_new(r, "id", json_integer(id));
	json_object_set_new(r, "cmd", json_string(cmd));
	json_object_set_new(r, "args", args != NULL ? args : json_object());
	s = proto_line(r);
	json_decref(r);
	return s;
}
