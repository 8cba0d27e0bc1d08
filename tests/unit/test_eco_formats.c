/* Unit tests of the ecosystem readers: JSON5 (common/json5.c), YAML (common/eco_yaml.c), the name → reader choice and PM2's aliases (common/eco_pm2.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "eco_format.h"
#include "eco_pm2.h"
#include "eco_yaml.h"
#include "json5.h"

/* The compact, sorted JSON of a tree, for comparing whole documents. */
static char *
dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	assert_non_null(s);
	return s;
}

static void
json5_is(const char *text, const char *want)
{
	json_error_t err;
	json_t *v = json5_loadb(text, strlen(text), &err);
	char *got;

	if (v == NULL)
		fail_msg("%s: %d:%d: %s", text, err.line, err.column, err.text);
	got = dump(v);
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n want %s\n got  %s", text, want, got);
	free(got);
	json_decref(v);
}

static void
json5_fails(const char *text, int line, int column, const char *msg)
{
	json_error_t err;
	json_t *v = json5_loadb(text, strlen(text), &err);

	if (v != NULL)
		fail_msg("%s: parsed, should not", text);
	if (err.line != line || err.column != column ||
	    strstr(err.text, msg) == NULL)
		fail_msg("%s:\n want %d:%d: …%s…\n got  %d:%d: %s", text, line,
		    column, msg, err.line, err.column, err.text);
}

static void
test_json5_values(void **state)
{
	(void)state;
	json5_is("{}", "{}");
	json5_is("// c\n{a: 1, 'b': \"2\", $c_3: [true, false, null,],}",
	    "{\"$c_3\":[true,false,null],\"a\":1,\"b\":\"2\"}");
	json5_is("/* block\n comment */ [1, -2, +3, 0x1F, -0xa, .5, 5., 1e3, "
	    "2.5E-1]", "[1,-2,3,31,-10,0.5,5.0,1000.0,0.25]");
	json5_is("[Infinity, -Infinity, NaN, 1e999]", "[null,null,null,null]");
	json5_is("['it\\'s', \"say \\\"hi\\\"\", 'a\\\nb', '\\x41\\u00e9\\t']",
	    "[\"it's\",\"say \\\"hi\\\"\",\"ab\",\"A\xC3\xA9\\t\"]");
	json5_is("'\\ud83d\\ude00'", "\"\xF0\x9F\x98\x80\"");
	json5_is("'\\q\\0'", "\"q\\u0000\"");
	json5_is("\xEF\xBB\xBF {\xC2\xA0" "a:1}", "{\"a\":1}");
	json5_is("{a: 1, a: 2}", "{\"a\":2}");	/* the last wins, as in JS */
	json5_is("9223372036854775807", "9223372036854775807");
	json5_is("9223372036854775808", "9.2233720368547758e18");
	json5_is("{caf\xC3\xA9: 1, \\u0061b: 2}",
	    "{\"ab\":2,\"caf\xC3\xA9\":1}");
}

static void
test_json5_errors(void **state)
{
	char deep[600];

	(void)state;
	json5_fails("", 1, 1, "unexpected end of input");
	json5_fails("{a: 1", 1, 6, "unterminated object");
	json5_fails("{\n  a: 1\n  b: 2}", 3, 3, "',' or '}' expected");
	json5_fails("[1,,2]", 1, 4, "unexpected character ','");
	json5_fails("{a 1}", 1, 4, "':' expected");
	/* A key running to the end of the input (found by fuzz_json5). */
	json5_fails("{n", 1, 3, "':' expected after a key");
	json5_fails("'abc", 1, 5, "unterminated string");
	json5_fails("'a\nb'", 1, 3, "unterminated string");
	json5_fails("[01]", 1, 3, "cannot start with 0");
	json5_fails("[1] 2", 1, 5, "end of file expected");
	json5_fails("/* open", 1, 1, "unclosed /* comment");
	json5_fails("'\\ud800'", 1, 8, "lone high surrogate");
	json5_fails("'\\1'", 1, 3, "octal");
	json5_fails("'\xff'", 1, 4, "invalid UTF-8");
	json5_fails("{'\\u0000': 1}", 1, 10, "\\u0000 is not allowed");
	json5_fails("[0x]", 1, 4, "invalid hexadecimal");
	json5_fails("[1e]", 1, 4, "invalid exponent");
	json5_fails("undefined", 1, 1, "unexpected character 'u'");
	/* Hostile nesting is refused, not a stack overflow. */
	memset(deep, '[', sizeof deep - 1);
	deep[sizeof deep - 1] = '\0';
	json5_fails(deep, 1, 257, "nested more than 256 deep");
	/* Columns count characters, not bytes, as jansson's do. */
	json5_fails("['\xC3\xA9', x]", 1, 7, "unexpected character 'x'");
}

static void
yaml_is(const char *text, const char *want)
{
	json_error_t err;
	json_t *v = eco_yaml_loadb(text, strlen(text), &err);
	char *got;

	if (v == NULL)
		fail_msg("%s: %d:%d: %s", text, err.line, err.column, err.text);
	got = dump(v);
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n want %s\n got  %s", text, want, got);
	free(got);
	json_decref(v);
}

static void
yaml_fails(const char *text, int line, const char *msg)
{
	json_error_t err;
	json_t *v = eco_yaml_loadb(text, strlen(text), &err);

	if (v != NULL)
		fail_msg("%s: parsed, should not", text);
	if (err.line != line || err.column < 1 ||
	    strstr(err.text, msg) == NULL)
		fail_msg("%s:\n want %d:…: …%s…\n got  %d:%d: %s", text, line,
		    msg, err.line, err.column, err.text);
}

static void
test_yaml_scalars(void **state)
{
	(void)state;
	/* The YAML 1.2 core schema, as js-yaml (PM2's reader) types them. */
	yaml_is("[1, -2, +3, 0x1F, 0o17, 1.5, .5, 1e3, -.inf, .nan, "
	    "true, False, TRUE, null, ~, Null, '', yes, no, on, 0777, 1_000]",
	    "[1,-2,3,31,15,1.5,0.5,1000.0,null,null,true,false,true,null,"
	    "null,null,\"\",\"yes\",\"no\",\"on\",777,\"1_000\"]");
	yaml_is("a:\nb: \"1\"\nc: '2'\nd: !!str 3\ne: !!int \"4\"\nf: |\n"
	    "  x\n  y\n",
	    "{\"a\":null,\"b\":\"1\",\"c\":\"2\",\"d\":\"3\",\"e\":4,"
	    "\"f\":\"x\\ny\\n\"}");
	yaml_is("1: one\ntrue: yes", "{\"1\":\"one\",\"true\":\"yes\"}");
	yaml_is("", "null");
	yaml_is("--- [1]\n...\n", "[1]");
}

static void
test_yaml_anchors(void **state)
{
	(void)state;
	yaml_is("base: &b {x: 1, y: 2}\nuse: *b\n",
	    "{\"base\":{\"x\":1,\"y\":2},\"use\":{\"x\":1,\"y\":2}}");
	/* Given keys win over merged ones, whatever their order. */
	yaml_is("d: &d {a: 1, b: 2}\nm:\n  b: 3\n  <<: *d\n",
	    "{\"d\":{\"a\":1,\"b\":2},\"m\":{\"a\":1,\"b\":3}}");
	yaml_is("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nm: {<<: [*a, *b]}\n",
	    "{\"a\":{\"x\":1},\"b\":{\"x\":2,\"y\":2},\"m\":{\"x\":1,"
	    "\"y\":2}}");
	yaml_is("s: &s 5\nt: *s\n", "{\"s\":5,\"t\":5}");
}

static void
test_yaml_errors(void **state)
{
	static const char laughs[] =
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";

	(void)state;
	yaml_fails("apps:\n  - name: a\n   script: x\n", 3, "expected");
	yaml_fails("a: [1, 2\n", 2, "");
	yaml_fails("a: 1\na: 2\n", 2, "duplicated mapping key \"a\"");
	yaml_fails("a: *nope\n", 1, "unknown anchor *nope");
	yaml_fails("[1]\n---\n[2]\n", 2, "more than one document");
	yaml_fails("? [1]\n: x\n", 1, "a mapping key must be a scalar");
	yaml_fails("a: !!int abc\n", 1, "\"abc\" is not a valid int");
	yaml_fails("a: !!binary aGk=\n", 1, "tag tag:yaml.org,2002:binary");
	yaml_fails("a: &x [1]\nb: {<<: 3}\n", 2, "<< merges mappings only");
	yaml_fails(laughs, 6, "aliases expand to more than");
}

static void
test_format_of(void **state)
{
	static const struct {
		const char	*name;
		enum eco_format	 f;
	} cases[] = {
		{ "ecosystem.config.js", ECO_FORMAT_JS },
		{ "/srv/app/pm2.cjs", ECO_FORMAT_JS },
		{ "eco.mjs", ECO_FORMAT_JS },
		{ "process.yml", ECO_FORMAT_YAML },
		{ "process.YAML", ECO_FORMAT_YAML },
		{ "eco.json5", ECO_FORMAT_JSON5 },
		{ "eco.json", ECO_FORMAT_JSON },
		{ "ecosystem", ECO_FORMAT_JSON },
		{ ".js", ECO_FORMAT_JSON },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (eco_format_of(cases[i].name) != cases[i].f)
			fail_msg("%s: format %d", cases[i].name,
			    eco_format_of(cases[i].name));
}

/* Normalise `in`; the result and the warnings must be those given. */
static void
normalised(const char *in, const char *want, const char *warning)
{
	struct diag w;
	json_error_t err;
	json_t *doc = json_loads(in, JSON_DECODE_ANY, &err);
	char *got;

	assert_non_null(doc);
	diag_init(&w);
	eco_pm2_normalise(doc, "F", &w);
	got = dump(doc);
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n want %s\n got  %s", in, want, got);
	if (warning == NULL ? w.n != 0 : w.n != 1 ||
	    strstr(w.msgs[0], warning) == NULL)
		fail_msg("%s: warnings: %zu, first: %s", in, w.n,
		    w.n > 0 ? w.msgs[0] : "none");
	free(got);
	diag_free(&w);
	json_decref(doc);
}

static void
test_pm2_aliases(void **state)
{
	(void)state;
	normalised("{\"pm2\":[{\"cmd\":\"x\"}]}", "{\"apps\":[{\"script\":\"x\"}]}",
	    NULL);
	/* apps wins over pm2, which is then an unknown key. */
	normalised("{\"apps\":[{\"script\":\"a\"}],\"pm2\":[]}",
	    "{\"apps\":[{\"script\":\"a\"}],\"pm2\":[]}", NULL);
	/* PM2 takes one app object for a list of one. */
	normalised("{\"apps\":{\"script\":\"a\"}}",
	    "{\"apps\":[{\"script\":\"a\"}]}", NULL);
	/* A given script wins; cmd is then left to be warned about. */
	normalised("{\"script\":\"s\",\"cmd\":\"c\"}",
	    "{\"cmd\":\"c\",\"script\":\"s\"}", NULL);
	normalised("[{\"script\":null,\"cmd\":\"c\"}]", "[{\"script\":\"c\"}]",
	    NULL);
	/* Object and array env values: JSON.stringify's text. */
	normalised("{\"script\":\"s\",\"env\":{\"O\":{\"a\":[1,0.1,\"x\\\"\","
	    "true,null],\"b\":{}},\"L\":[],\"N\":1,\"Z\":null},"
	    "\"env_production\":{\"P\":[2.5e-7,1e21,3.0]},\"env_file\":\"x\"}",
	    "{\"env\":{\"L\":\"[]\",\"N\":1,\"O\":\"{\\\"a\\\":[1,0.1,"
	    "\\\"x\\\\\\\"\\\",true,null],\\\"b\\\":{}}\",\"Z\":null},"
	    "\"env_file\":\"x\",\"env_production\":{\"P\":\"[2.5e-07,1e+21,3]\"},"
	    "\"script\":\"s\"}", NULL);
}

static void
test_pm2_differs(void **state)
{
	(void)state;
	/* PM2's day.js date formats are kept as written: wsd prints them so. */
	normalised("{\"apps\":[{\"script\":\"s\",\"log_date_format\":"
	    "\"YYYY-MM-DD HH:mm:ss.SSS Z\"}]}",
	    "{\"apps\":[{\"log_date_format\":\"YYYY-MM-DD HH:mm:ss.SSS Z\","
	    "\"script\":\"s\"}]}", NULL);
	/* uid/user: the user's supplementary groups, which PM2 drops */
	normalised("{\"script\":\"s\",\"user\":\"nobody\"}",
	    "{\"script\":\"s\",\"user\":\"nobody\"}",
	    "F: apps[0].user: differs from PM2: PM2 starts the app with no "
	    "supplementary groups");
	normalised("{\"script\":\"s\",\"log_date_format\":\"---\"}",
	    "{\"log_date_format\":\"---\",\"script\":\"s\"}", NULL);
	normalised("{\"script\":\"s\",\"log_date_format\":\"%F %T\"}",
	    "{\"log_date_format\":\"%F %T\",\"script\":\"s\"}", NULL);
	normalised("[{\"script\":\"a\"},{\"script\":\"app.js\",\"exec_mode\":"
	    "\"cluster_mode\"}]",
	    "[{\"script\":\"a\"},{\"exec_mode\":\"cluster_mode\","
	    "\"script\":\"app.js\"}]",
	    "F: apps[1].exec_mode: differs from PM2: ");
	normalised("{\"script\":\"wsworker\",\"exec_mode\":\"cluster\"}",
	    "{\"exec_mode\":\"cluster\",\"script\":\"wsworker\"}", NULL);
	normalised("{\"script\":\"run\",\"interpreter\":\"/usr/bin/node\","
	    "\"exec_mode\":\"cluster\"}",
	    "{\"exec_mode\":\"cluster\",\"interpreter\":\"/usr/bin/node\","
	    "\"script\":\"run\"}", "F: apps[0].exec_mode: differs");
	normalised("{\"script\":\"a.js\",\"instances\":\"max\"}",
	    "{\"instances\":\"max\",\"script\":\"a.js\"}",
	    "F: apps[0].instances: differs from PM2: ");
	normalised("{\"script\":\"a.js\",\"instances\":4,\"exec_mode\":"
	    "\"fork\"}", "{\"exec_mode\":\"fork\",\"instances\":4,"
	    "\"script\":\"a.js\"}", NULL);
	normalised("{\"script\":\"a.js\",\"instances\":1}",
	    "{\"instances\":1,\"script\":\"a.js\"}", NULL);
	/* Node's process.send('ready') is heard: as PM2 does. */
	normalised("{\"script\":\"a.mjs\",\"wait_ready\":true}",
	    "{\"script\":\"a.mjs\",\"wait_ready\":true}", NULL);
	normalised("{\"script\":\"wsworker\",\"wait_ready\":true}",
	    "{\"script\":\"wsworker\",\"wait_ready\":true}", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json5_values),
		cmocka_unit_test(test_json5_errors),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_yaml_anchors),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_format_of),
		cmocka_unit_test(test_pm2_aliases),
		cmocka_unit_test(test_pm2_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
