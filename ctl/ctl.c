/* ctl.c: how a verb reports failure: one line on stderr, "certwrapctl:
 * MESSAGE", the message being the library's (it already names the file and
 * the fix); usage errors add the verb's synopsis. */
#include "ctl/ctl.h"

#include <stdarg.h>

int
ctl_fail(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	fprintf(c->err, "certwrapctl: %s\n", c->last_error);
	return CTL_FAILED;
}

int
ctl_usage_error(struct ctl *c, const char *fmt, ...)
{
	const struct verb *v;
	char *words[2] = { NULL, NULL };
	char first[32];
	int n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	fputs("certwrapctl: ", c->err);
	if (c->verb != NULL)
		fprintf(c->err, "%s: ", c->verb);
	fprintf(c->err, "%s\n", c->last_error);
	if (c->verb == NULL) {
		fputs("usage: certwrapctl [--store DIR | -s SOCKET] VERB [ARGS...] (certwrapctl "
		    "--help lists the verbs)\n", c->err);
		return CTL_USAGE;
	}
	/* the verb's own synopsis: "ca init" is found from its two words */
	snprintf(first, sizeof(first), "%s", c->verb);
	words[0] = first;
	for (char *sp = first; *sp; sp++)
		if (*sp == ' ') {
			*sp = '\0';
			words[1] = sp + 1;
			break;
		}
	if ((v = verbs_find(words[1] != NULL ? 2 : 1, words, &n)) != NULL)
		fprintf(c->err, "usage: certwrapctl %s %s %s\n", verbs_target_synopsis(v), v->name,
		    v->synopsis);
	return CTL_USAGE;
}

void
ctl_warnings(struct ctl *c, const struct cs_warnings *w)
{
	for (unsigned i = 0; i < w->count && i < CS_MAX_WARNINGS; i++)
		fprintf(c->err, "certwrapctl: warning: %s\n", w->msg[i]);
}
