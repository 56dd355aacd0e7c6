/* args.c: a verb's arguments, parsed by the option table of its verbs.c row.
 * Options may come before or after the positional arguments; a repeated
 * option (--dns) takes every following word up to the next option, so
 * "--dns a.example b.example" and "--dns a.example --dns b.example" are the
 * same; "--" ends the options. */
#include "ctl/ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SUGGEST_MAX_DIST 2

static void __attribute__((format(printf, 2, 3)))
why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, CTL_WHY_MAX, fmt, ap);
	va_end(ap);
}

static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
args_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = SUGGEST_MAX_DIST + 1, d;

	for (size_t i = 0; candidates[i] != NULL; i++) {
		if ((d = distance(word, candidates[i])) < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

static int
find_spec(const struct opt_spec *specs, const char *name, size_t len)
{
	for (int i = 0; specs[i].name != NULL; i++)
		if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
			return i;
	return -1;
}

static void
unknown_option(const struct opt_spec *specs, const char *arg, size_t len, char *why)
{
	const char *names[CTL_MAX_OPTIONS + 1], *s;
	char word[64];
	size_t n = 0;

	for (; specs[n].name != NULL && n < CTL_MAX_OPTIONS; n++)
		names[n] = specs[n].name;
	names[n] = NULL;
	snprintf(word, sizeof(word), "%.*s", (int)len, arg);
	if ((s = args_suggest(word, names)) != NULL)
		why_set(why, "unknown option %s (did you mean %s?)", word, s);
	else
		why_set(why, "unknown option %s", word);
}

static int
add_value(struct args *a, int i, const char *value, char *why)
{
	const struct opt_spec *s = &a->specs[i];

	if (s->kind == OPT_VALUE && a->opt[i].n > 0) {
		why_set(why, "%s given twice", s->name);
		return -1;
	}
	if (a->opt[i].n == CTL_MAX_LIST) {
		why_set(why, "%s given more than %d times", s->name, CTL_MAX_LIST);
		return -1;
	}
	if (value[0] == '\0') {
		why_set(why, "%s needs a non-empty %s", s->name, s->metavar);
		return -1;
	}
	a->opt[i].values[a->opt[i].n++] = value;
	return 0;
}

/* One option at argv[*k]; advances *k past its values. */
static int
take_option(struct args *a, int argc, char **argv, int *k, char *why)
{
	const char *arg = argv[*k], *eq = strchr(arg, '=');
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	int i = find_spec(a->specs, arg, len);

	if (i < 0) {
		unknown_option(a->specs, arg, len, why);
		return -1;
	}
	a->opt[i].set = true;
	(*k)++;
	if (a->specs[i].kind == OPT_FLAG) {
		if (eq == NULL)
			return 0;
		why_set(why, "%s takes no value", a->specs[i].name);
		return -1;
	}
	if (eq != NULL)
		return add_value(a, i, eq + 1, why);
	if (*k >= argc || strncmp(argv[*k], "--", 2) == 0) {
		why_set(why, "%s needs a value (%s)", a->specs[i].name, a->specs[i].metavar);
		return -1;
	}
	do {
		if (add_value(a, i, argv[(*k)++], why) == -1)
			return -1;
	} while (a->specs[i].kind == OPT_LIST && *k < argc && argv[*k][0] != '-');
	return 0;
}

int
args_parse(const struct opt_spec *specs, const char *pos_name, size_t min_pos,
    size_t max_pos, int argc, char **argv, struct args *a, char *why)
{
	bool options = true;
	int k = 0;

	memset(a, 0, sizeof(*a));
	a->specs = specs;
	while (k < argc) {
		if (options && strcmp(argv[k], "--") == 0) {
			options = false;
			k++;
		} else if (options && argv[k][0] == '-' && argv[k][1] != '\0') {
			if (take_option(a, argc, argv, &k, why) == -1)
				return -1;
		} else if (a->n_pos == max_pos || a->n_pos == CTL_MAX_POSITIONAL) {
			why_set(why, "unexpected argument \"%.64s\"", argv[k]);
			return -1;
		} else {
			a->pos[a->n_pos++] = argv[k++];
		}
	}
	if (a->n_pos < min_pos) {
		why_set(why, "missing %s", pos_name != NULL ? pos_name : "argument");
		return -1;
	}
	return 0;
}

static int
index_of(const struct args *a, const char *name)
{
	return find_spec(a->specs, name, strlen(name));
}

bool
args_flag(const struct args *a, const char *name)
{
	int i = index_of(a, name);

	return i >= 0 && a->opt[i].set;
}

const char *
args_value(const struct args *a, const char *name)
{
	int i = index_of(a, name);

	return i >= 0 && a->opt[i].n > 0 ? a->opt[i].values[0] : NULL;
}

const char *const *
args_list(const struct args *a, const char *name, size_t *n)
{
	int i = index_of(a, name);

	*n = i >= 0 ? a->opt[i].n : 0;
	return i >= 0 ? a->opt[i].values : NULL;
}
