/* swap.c: validated certificate swaps, and carrying them across reloads. */
#include "proxy/swap.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy/certsource.h"
#include "proxy/log.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"
#include "proxy/tls.h"

static char *
dup_bytes(const char *p, size_t len)
{
	char *copy;

	if (p == NULL)
		return NULL;
	if ((copy = malloc(len + 1)) != NULL) {
		memcpy(copy, p, len);
		copy[len] = '\0';
	}
	return copy;
}

struct swap_choice *
swap_choice_dup(const struct swap_choice *c)
{
	struct swap_choice *d = malloc(sizeof(*d));

	if (d == NULL)
		return NULL;
	*d = *c;
	d->cert = dup_bytes(c->cert, c->cert_len);
	d->chain = dup_bytes(c->chain, c->chain_len);
	d->key = dup_bytes(c->key, c->key_len);
	if ((c->cert && !d->cert) || (c->chain && !d->chain) || (c->key && !d->key)) {
		swap_choice_free(d);
		return NULL;
	}
	return d;
}

void
swap_choice_free(struct swap_choice *c)
{
	if (c == NULL)
		return;
	if (c->key != NULL)
		OPENSSL_cleanse(c->key, c->key_len);
	free(c->cert);
	free(c->chain);
	free(c->key);
	free(c);
}

const char *
swap_followed_name(const struct service *svc)
{
	if (svc->swap != NULL)
		return svc->swap->follow ? svc->swap->name : NULL;
	return svc->conf->certname.value;
}

static struct tlsctx *
build(const struct service *svc, const char *config_file, struct certstore *store,
    const struct swap_choice *c, struct report *rep)
{
	if (c->name[0] == '\0')
		return certsource_from_pem(svc->conf, config_file, store, c->cert, c->cert_len,
		    c->chain, c->chain_len, c->key, c->key_len, c->label, rep);
	if (store == NULL) {
		report_error(rep, "[%s]: no certstore = DIR in the configuration to take %s from",
		    svc->conf->name, c->name);
		return NULL;
	}
	/* the name is the caller's, not the config's: its messages need no FILE:LINE */
	return certsource_from_store(svc->conf, config_file, NULL, store, c->name,
	    c->follow ? 0 : c->version, rep);
}

int
swap_apply(struct service *svc, const char *config_file, struct certstore *store,
    struct swap_choice *choice, struct report *rep)
{
	struct tlsctx *next = build(svc, config_file, store, choice, rep);
	char old_source[sizeof(next->source)];

	if (next == NULL)
		return -1;
	snprintf(old_source, sizeof(old_source), "%s", svc->tls ? svc->tls->source : "nothing");
	service_tls_swap(svc, next);
	swap_choice_free(svc->swap);
	svc->swap = choice;
	svc->refused_version = 0;
	log_notice("%s: swap: now serving %s (serial %s), was %s", svc->conf->name,
	    next->source, next->serial, old_source);
	return 0;
}

/* The settings that say which certificate a service serves. */
static bool
same_certificate_settings(const struct service_conf *a, const struct service_conf *b)
{
	const struct conf_str *sa[] = { &a->cert, &a->key, &a->certname };
	const struct conf_str *sb[] = { &b->cert, &b->key, &b->certname };

	for (size_t i = 0; i < sizeof(sa) / sizeof(sa[0]); i++)
		if ((sa[i]->value == NULL) != (sb[i]->value == NULL) ||
		    (sa[i]->value != NULL && strcmp(sa[i]->value, sb[i]->value) != 0))
			return false;
	return true;
}

static void
carry_swap(struct service *next, const struct service *old, const char *config_file,
    struct certstore *store, struct report *rep)
{
	struct swap_choice *choice;
	struct report why = { 0 };

	if (!same_certificate_settings(next->conf, old->conf)) {
		report_warn(rep, "[%s]: its certificate settings changed: the swap to %s ends",
		    next->conf->name, old->tls ? old->tls->source : "?");
		return;
	}
	if ((choice = swap_choice_dup(old->swap)) == NULL ||
	    swap_apply(next, config_file, store, choice, &why) == -1) {
		report_warn(rep, "[%s]: the swap to %s cannot be kept (%s); serving the configured "
		    "certificate", next->conf->name, old->tls ? old->tls->source : "?",
		    why.n_lines ? why.lines[why.n_lines - 1].text : "out of memory");
		swap_choice_free(choice);
	}
	report_free(&why);
}

void
swap_carry_over(struct snapshot *next, const struct snapshot *old, struct report *rep)
{
	for (unsigned i = 0; i < next->n_services; i++) {
		struct service *n = &next->services[i];

		for (unsigned j = 0; j < old->n_services; j++) {
			const struct service *o = &old->services[j];

			if (strcmp(n->conf->name, o->conf->name) != 0)
				continue;
			if (o->stats != NULL) {
				stats_unref(n->stats);
				n->stats = stats_ref(o->stats);
			}
			if (o->swap != NULL)
				carry_swap(n, o, next->cfg.file, next->store, rep);
			break;
		}
	}
}
