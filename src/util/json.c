/*
 * json — see json.h. Keys are written when given (inside objects) and omitted inside
 * arrays; nesting deeper than 31 levels is flattened, which our tools never reach.
 */
#include "util/json.h"

void
json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
}

static void
json_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_key(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key != NULL) {
		json_quote(j->f, key);
		fputc(':', j->f);
	}
}

void
json_open(struct json *j, const char *key, char brace)
{
	json_key(j, key);
	fputc(brace, j->f);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = true;
}

void
json_close(struct json *j, char brace)
{
	fputc(brace, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		fputc('\n', j->f);
		j->first[0] = true; /* the next top-level value starts a new line */
	}
}

void
json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	if (v == NULL)
		fputs("null", j->f);
	else
		json_quote(j->f, v);
}

void
json_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	fprintf(j->f, "%lld", v);
}

void
json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}
