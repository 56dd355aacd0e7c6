/* lg_report.c: the result as one JSON line (for bench/run.py and tests) and
 * one line for people.
 *
 * rate_per_s: connections that completed their whole exchange, per second of
 * the measured window. mb_per_s: bulk bytes that came back through the proxy
 * (each byte was decrypted and encrypted once by it), 10^6 bytes per second.
 * cpu: CPU time over wall time of the window, 1.0 = one core busy.
 * memory (idle): the proxy's VmRSS and Pss, summed over its process tree,
 * before and after opening the connections; per connection in KiB. */
#include <string.h>
#include <unistd.h>

#include "bench/lib/lg.h"

static const char *const mode_names[] = {
	[LG_HANDSHAKE] = "handshake", [LG_RESUME] = "resume", [LG_BULK] = "bulk", [LG_IDLE] = "idle",
};

static void
json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* A fraction of one core, or null when the process was not watched (or
 * was gone: its ticks then read 0 at the end). */
static void
json_cpu(FILE *out, const char *name, bool watched, uint64_t start, uint64_t end,
    double wall_s)
{
	fprintf(out, "\"%s\":", name);
	if (!watched || wall_s <= 0 || end < start || end == 0)
		fputs("null", out);
	else
		fprintf(out, "%.3f", (double)(end - start) / (double)sysconf(_SC_CLK_TCK) / wall_s);
}

static void
json_failures(FILE *out, const struct lg_tally *t)
{
	bool first = true;

	fprintf(out, "\"failures\":{\"total\":%llu", (unsigned long long)lg_tally_failures(t));
	for (int k = 0; k < FAIL_KINDS; k++)
		fprintf(out, ",\"%s\":%llu", lg_fail_name((enum lg_fail)k),
		    (unsigned long long)t->fail[k]);
	fputs("},\"failure_reasons\":{", out);
	for (size_t i = 0; i < LG_REASONS_MAX && t->reasons[i].count > 0; i++) {
		fputs(first ? "" : ",", out);
		json_string(out, t->reasons[i].text);
		fprintf(out, ":%llu", (unsigned long long)t->reasons[i].count);
		first = false;
	}
	fprintf(out, "},\"failure_reasons_other\":%llu", (unsigned long long)t->reasons_other);
}

/* KiB per held connection (negative if the proxy shrank); false if unknown. */
static bool
per_conn(long before, long after, uint64_t conns, double *out)
{
	*out = conns > 0 ? (double)(after - before) / (double)conns : 0;
	return conns > 0 && before >= 0 && after >= 0;
}

static void
json_kib(FILE *out, const char *name, bool known, double value)
{
	if (known)
		fprintf(out, "\"%s\":%.2f", name, value);
	else
		fprintf(out, "\"%s\":null", name);
}

static void
json_memory(FILE *out, const struct lg_options *opt, const struct lg_mem *m)
{
	double rss, pss;
	bool rss_known = per_conn(m->rss_before_kib, m->rss_after_kib, m->conns, &rss);
	bool pss_known = per_conn(m->pss_before_kib, m->pss_after_kib, m->conns, &pss);

	if (opt->mode != LG_IDLE || opt->proxy_pid <= 0) {
		fputs(",\"memory\":null", out);
		return;
	}
	fprintf(out, ",\"memory\":{\"conns\":%llu,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,"
	    "\"pss_before_kib\":%ld,\"pss_after_kib\":%ld,\"hold_s\":%.2f,",
	    (unsigned long long)m->conns, m->rss_before_kib, m->rss_after_kib,
	    m->pss_before_kib, m->pss_after_kib, m->hold_s);
	/* null where nothing was held or /proc could not be read */
	json_kib(out, "kib_per_conn", rss_known, rss);
	fputc(',', out);
	json_kib(out, "pss_kib_per_conn", pss_known, pss);
	fputc('}', out);
}

static void
report_json(FILE *out, const struct lg_options *opt, const struct lg_result *r)
{
	const struct lg_tally *t = &r->tally;
	double wall = r->cpu_end.wall_s - r->cpu_start.wall_s;
	double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9;

	fputs("{\"tool\":\"loadgen\",\"label\":", out);
	json_string(out, opt->label);
	fprintf(out, ",\"mode\":\"%s\",\"target\":", mode_names[opt->mode]);
	json_string(out, opt->target);
	fprintf(out, ",\"concurrency\":%u,\"elapsed_s\":%.3f,\"started\":%llu,\"completed\":%llu,"
	    "\"resumed\":%llu,\"unfinished\":%llu,\"rate_per_s\":%.1f,\"bytes_tx\":%llu,"
	    "\"bytes_rx\":%llu,\"mb_per_s\":%.1f,",
	    opt->concurrency, r->elapsed_s, (unsigned long long)t->started,
	    (unsigned long long)t->completed, (unsigned long long)t->resumed,
	    (unsigned long long)t->unfinished, (double)t->completed / el,
	    (unsigned long long)t->bytes_tx, (unsigned long long)t->bytes_rx,
	    (double)t->bytes_rx / el / 1e6);
	json_failures(out, t);
	fprintf(out, ",\"cpu\":{\"loadgen\":%.3f,", wall > 0 ?
	    (r->cpu_end.self_s - r->cpu_start.self_s) / wall : 0.0);
	json_cpu(out, "proxy", opt->proxy_pid > 0, r->cpu_start.proxy_ticks,
	    r->cpu_end.proxy_ticks, wall);
	fputc(',', out);
	json_cpu(out, "backend", opt->backend_pid > 0, r->cpu_start.backend_ticks,
	    r->cpu_end.backend_ticks, wall);
	fputc('}', out);
	json_memory(out, opt, &r->mem);
	fputs("}\n", out);
}

static void
report_human(FILE *err, const struct lg_options *opt, const struct lg_result *r)
{
	const struct lg_tally *t = &r->tally;
	double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9, kib;

	fprintf(err, "loadgen: %s %s c=%u %.1fs: %llu completed (%.1f/s)", mode_names[opt->mode],
	    opt->target, opt->concurrency, r->elapsed_s, (unsigned long long)t->completed,
	    (double)t->completed / el);
	if (opt->mode == LG_RESUME)
		fprintf(err, ", %llu resumed", (unsigned long long)t->resumed);
	if (opt->mode == LG_BULK)
		fprintf(err, ", %.1f MB/s echoed", (double)t->bytes_rx / el / 1e6);
	if (opt->mode == LG_IDLE && opt->proxy_pid > 0 &&
	    per_conn(r->mem.rss_before_kib, r->mem.rss_after_kib, r->mem.conns, &kib))
		fprintf(err, ", proxy %+ld KiB for %llu held (%.1f KiB each)",
		    r->mem.rss_after_kib - r->mem.rss_before_kib, (unsigned long long)r->mem.conns,
		    kib);
	fprintf(err, ", %llu failures", (unsigned long long)lg_tally_failures(t));
	for (size_t i = 0; i < LG_REASONS_MAX && t->reasons[i].count > 0; i++)
		fprintf(err, "%s%s x%llu", i == 0 ? " (" : "; ", t->reasons[i].text,
		    (unsigned long long)t->reasons[i].count);
	fprintf(err, "%s\n", t->reasons[0].count > 0 ? ")" : "");
}

void
lg_report(FILE *out, FILE *err, const struct lg_options *opt, const struct lg_result *r)
{
	report_json(out, opt, r);
	fflush(out);
	report_human(err, opt, r);
}
