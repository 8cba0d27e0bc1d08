/* YAML ecosystem files (.yml, .yaml), read with libyaml into the tree the JSON path builds. */
#ifndef WSD_ECO_YAML_H
#define WSD_ECO_YAML_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parse one YAML document.  Plain scalars are typed by the YAML 1.2 core
 * schema (null, true/false, ints incl. 0x/0o, floats, .inf/.nan → null);
 * quoted ones are strings; anchors, aliases and `<<` merge keys work as in
 * js-yaml, PM2's reader.  On failure returns NULL with err->line,
 * err->column (1-based) and err->text set.
 */
json_t	*eco_yaml_loadb(const char *buf, size_t len, json_error_t *err);

#endif
