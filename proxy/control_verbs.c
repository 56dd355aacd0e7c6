/* control_verbs.c: what certwrapd answers on its control socket.
 *
 * Responses follow ctl/ctlproto.h and the conventions of ctl/ctlstore.h:
 * status, message, then records (fields up to a "-" field), one per service
 * or per failure reason; a record's first field, `record`, names its kind
 * ("service", "failure"), so certwrapctl shows each kind as a table of its
 * own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certstore/certstore.h"
#include "ctl/ctlproto.h"
#include "proxy/certwatch.h"
#include "proxy/control.h"
#include "proxy/daemon.h"
#include "proxy/reload.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"
#include "proxy/storejob.h"
#include "proxy/swap.h"
#include "proxy/tls.h"
#include "proxy/worker.h"

static void
add_labels(struct ctl_msg *m, const char *field, const struct addr *a, unsigned n)
{
	char buf[SERVICE_MAX_TARGETS * ADDR_LABEL_BYTES] = "";

	for (unsigned i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "", a[i].label);
	ctl_msg_add_str(m, field, buf);
}

static void
add_certificate(struct ctl_msg *m, struct service *svc, time_t now)
{
	struct tlsctx *t = service_tls_acquire(svc);
	struct tm tm;
	char date[32];

	ctl_msg_add_str(m, "cert", t ? t->source : "-");
	ctl_msg_add_str(m, "follows", swap_followed_name(svc) ? swap_followed_name(svc) : "-");
	ctl_msg_add_str(m, "swapped", svc->swap ? "yes" : "no");
	/* a client-mode service without a client certificate has no dates */
	if (t == NULL || t->not_after == 0) {
		tlsctx_unref(t);
		return;
	}
	gmtime_r(&t->not_after, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ctl_msg_add_str(m, "subject", t->subject);
	ctl_msg_add_str(m, "serial", t->serial);
	ctl_msg_add_str(m, "sans", t->sans);
	ctl_msg_add_str(m, "not_after", date);
	ctl_msg_addf(m, "days_left", "%ld", cs_days_until(t->not_after, now));
	tlsctx_unref(t);
}

static void
verb_status(struct daemon *d, const struct ctl_msg *req, struct control_request *r)
{
	struct ctl_msg msg_resp = { 0 }, *resp = &msg_resp;
	struct snapshot *snap = d->snap;
	time_t now = time(NULL);
	unsigned open = acceptor_open(&d->acceptor);
	char msg[256];

	snprintf(msg, sizeof(msg), "%u service%s, %u connection%s open, config %s",
	    snap->n_services, snap->n_services == 1 ? "" : "s", open, open == 1 ? "" : "s",
	    snap->cfg.file);
	ctl_msg_ok(resp, msg);
	for (unsigned i = 0; i < snap->n_services; i++) {
		struct service *svc = &snap->services[i], *relay;

		ctl_msg_add_str(resp, "record", "service");
		ctl_msg_add_str(resp, "service", svc->conf->name);
		/* a secondary (sni =) serves on its primary's addresses */
		if (svc->sni_primary != NULL)
			ctl_msg_add_str(resp, "sni", svc->conf->sni.value);
		add_labels(resp, "accept", svc->sni_primary ? svc->sni_primary->accept : svc->accept,
		    svc->sni_primary ? svc->sni_primary->n_accept : svc->n_accept);
		/* ...and without a connect of its own relays to its primary's */
		relay = svc->n_targets == 0 && svc->sni_primary ? svc->sni_primary : svc;
		add_labels(resp, "connect", relay->targets, relay->n_targets);
		ctl_msg_addf(resp, "connections", "%llu", stats_get(&svc->stats->active));
		add_certificate(resp, svc, now);
		ctl_msg_end_record(resp);
	}
	/* how evenly the acceptor spreads them */
	for (unsigned i = 0; i < d->n_workers; i++) {
		ctl_msg_add_str(resp, "record", "worker");
		ctl_msg_addf(resp, "worker", "%u", i);
		ctl_msg_addf(resp, "connections", "%u", atomic_load_explicit(&d->workers[i].n_conns,
		    memory_order_relaxed));
		ctl_msg_end_record(resp);
	}
	control_reply(r, resp);
}

static void
add_failures(struct ctl_msg *resp, const char *service, struct service_stats *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n_reasons; i++) {
		ctl_msg_add_str(resp, "record", "failure");
		ctl_msg_add_str(resp, "service", service);
		ctl_msg_add_str(resp, "reason", s->reasons[i].reason);
		ctl_msg_addf(resp, "count", "%llu", s->reasons[i].count);
		ctl_msg_end_record(resp);
	}
	if (s->other_reasons > 0) {
		ctl_msg_add_str(resp, "record", "failure");
		ctl_msg_add_str(resp, "service", service);
		ctl_msg_add_str(resp, "reason", "(other reasons)");
		ctl_msg_addf(resp, "count", "%llu", s->other_reasons);
		ctl_msg_end_record(resp);
	}
	pthread_mutex_unlock(&s->lock);
}

static void
verb_stats(struct daemon *d, const struct ctl_msg *req, struct control_request *r)
{
	struct snapshot *snap = d->snap;
	struct ctl_msg msg_resp = { 0 }, *resp = &msg_resp;

	ctl_msg_ok(resp, NULL);
	for (unsigned i = 0; i < snap->n_services; i++) {
		struct service_stats *s = snap->services[i].stats;

		ctl_msg_add_str(resp, "record", "service");
		ctl_msg_add_str(resp, "service", snap->services[i].conf->name);
		ctl_msg_addf(resp, "connections", "%llu", stats_get(&s->connections));
		ctl_msg_addf(resp, "active", "%llu", stats_get(&s->active));
		ctl_msg_addf(resp, "handshakes", "%llu", stats_get(&s->handshakes));
		ctl_msg_addf(resp, "handshake_failures", "%llu", stats_get(&s->handshake_failures));
		ctl_msg_addf(resp, "backend_failures", "%llu", stats_get(&s->backend_failures));
		ctl_msg_addf(resp, "bytes_in", "%llu", stats_get(&s->bytes_in));
		ctl_msg_addf(resp, "bytes_out", "%llu", stats_get(&s->bytes_out));
		ctl_msg_end_record(resp);
	}
	for (unsigned i = 0; i < snap->n_services; i++)
		add_failures(resp, snap->services[i].conf->name, snap->services[i].stats);
	control_reply(r, resp);
}

/* The report's lines, errors and warnings, as the response message. */
static void
report_to_message(const struct report *rep, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < rep->n_lines; i++)
		if (rep->lines[i].kind != REPORT_INFO)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s%s", buf[0] ? "\n" : "",
			    rep->lines[i].kind == REPORT_WARN ? "warning: " : "", rep->lines[i].text);
}

static void
verb_reload(struct daemon *d, const struct ctl_msg *req, struct control_request *r)
{
	struct ctl_msg msg_resp = { 0 }, *resp = &msg_resp;
	struct report rep = { 0 };
	char msg[8192];
	int rc = reload_run(d, &rep);

	report_to_message(&rep, msg, sizeof(msg));
	if (rc == 0)
		ctl_msg_ok(resp, msg[0] ? msg : "reloaded");
	else
		ctl_msg_error(resp, "reload failed, the running configuration keeps serving:\n%s", msg);
	report_free(&rep);
	control_reply(r, resp);
}

/* A swap request's choice: NAME or NAME@VERSION from the store, or PEM. */
static int
swap_choice_from(const struct ctl_msg *req, struct swap_choice *c, struct ctl_msg *resp)
{
	const struct ctl_field *name = ctl_msg_find(req, "name", NULL);
	const struct ctl_field *cert = ctl_msg_find(req, "cert", NULL);
	const struct ctl_field *chain = ctl_msg_find(req, "chain", NULL);
	const struct ctl_field *key = ctl_msg_find(req, "key", NULL);
	const char *version = ctl_msg_get(req, "version"), *label = ctl_msg_get(req, "label");
	char *end;

	memset(c, 0, sizeof(*c));
	if ((name == NULL) == (cert == NULL))
		return ctl_msg_error(resp, "swap: give a store name (NAME or NAME@VERSION), or "
		    "--cert FILE --key FILE"), -1;
	if (name != NULL) {
		if (name->len == 0 || name->len > SWAP_NAME_MAX)
			return ctl_msg_error(resp, "swap: bad certificate name"), -1;
		memcpy(c->name, name->value, name->len);
		c->follow = version == NULL;
		c->version = version ? (unsigned)strtoul(version, &end, 10) : 0;
		if (version != NULL && (*end != '\0' || c->version == 0))
			return ctl_msg_error(resp, "swap: bad version \"%.32s\"", version), -1;
		return 0;
	}
	if (key == NULL)
		return ctl_msg_error(resp, "swap: --cert needs --key (the private key)"), -1;
	c->cert = cert->value;
	c->cert_len = cert->len;
	c->chain = chain ? chain->value : NULL;
	c->chain_len = chain ? chain->len : 0;
	c->key = key->value;
	c->key_len = key->len;
	snprintf(c->label, sizeof(c->label), "%s", label ? label : "certificate sent by certwrapctl");
	return 0;
}

static void
swap_answer(struct daemon *d, const struct ctl_msg *req, struct ctl_msg *resp)
{
	const char *service = ctl_msg_get(req, "service");
	struct service *svc = NULL;
	struct swap_choice request, *owned;
	struct report rep = { 0 };
	char msg[4096];

	for (unsigned i = 0; service != NULL && i < d->snap->n_services; i++)
		if (strcmp(d->snap->services[i].conf->name, service) == 0)
			svc = &d->snap->services[i];
	if (svc == NULL) {
		ctl_msg_error(resp, "swap: no service \"%.64s\" (certwrapctl status lists them)",
		    service ? service : "");
		return;
	}
	if (svc->conf->client) {
		ctl_msg_error(resp, "swap: [%s] is a client-mode service (client = yes) and serves "
		    "no certificate; its client certificate is cert = FILE in the configuration",
		    service);
		return;
	}
	if (swap_choice_from(req, &request, resp) == -1)
		return;
	if ((owned = swap_choice_dup(&request)) == NULL) {
		ctl_msg_error(resp, "swap: out of memory");
		return;
	}
	if (swap_apply(svc, d->snap->cfg.file, d->snap->store, owned, &rep) == -1) {
		report_to_message(&rep, msg, sizeof(msg));
		ctl_msg_error(resp, "swap of [%s] refused, still serving %s:\n%s", service,
		    svc->tls ? svc->tls->source : "nothing", msg);
		swap_choice_free(owned);
	} else {
		snprintf(msg, sizeof(msg), "[%s] now serves %s (serial %s)", service,
		    svc->tls->source, svc->tls->serial);
		ctl_msg_ok(resp, msg);
		certwatch_update(d->certwatch);   /* it may follow another name now */
	}
	report_free(&rep);
}

static void
verb_swap(struct daemon *d, const struct ctl_msg *req, struct control_request *r)
{
	struct ctl_msg resp = { 0 };

	swap_answer(d, req, &resp);
	control_reply(r, &resp);
}

/* The store verbs, in the store thread; their hooks run without blocking. */
static void
verb_store(struct daemon *d, const struct ctl_msg *req, struct control_request *r)
{
	struct ctl_msg resp = { 0 };

	if (d->snap->store == NULL || d->storejobs == NULL) {
		ctl_msg_error(&resp, d->snap->store == NULL ? "this certwrapd has no certstore = DIR in "
		    "its configuration; use certwrapctl --store DIR instead" :
		    "store verbs are not available (see the daemon's log)");
		control_reply(r, &resp);
		return;
	}
	storejob_submit(d->storejobs, certstore_dir(d->snap->store), req, r);
}

const struct control_verb control_verbs[] = {
	{ "status", verb_status },
	{ "stats", verb_stats },
	{ "reload", verb_reload },
	{ "swap", verb_swap },
	{ "issue", verb_store },
	{ "sign", verb_store },
	{ "import", verb_store },
	{ "renew", verb_store },
	{ "revoke", verb_store },
	{ "crl", verb_store },
	{ "rollback", verb_store },
	{ "list", verb_store },
	{ "show", verb_store },
	{ "check", verb_store },
	{ "csr", verb_store },
	{ "export", verb_store },
	{ "export-ca", verb_store },
};

const size_t control_verbs_count = sizeof(control_verbs) / sizeof(control_verbs[0]);
