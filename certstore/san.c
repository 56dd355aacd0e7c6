/* san.c: the names a certificate is for (subjectAltName): DNS names and IP
 * addresses checked and written in one canonical spelling, so that a
 * certificate never carries a name a client cannot match. */
#include "certstore/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_LABEL_MAX  63
#define IP_TEXT_MAX    INET6_ADDRSTRLEN

char **
cs_strv_dup(char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((out[i] = strdup(v[i])) == NULL) {
			cs_strv_free(out);
			return NULL;
		}
	}
	return out;
}

void
cs_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* Appends s (taking it) to a NULL-terminated array unless already there. */
static int
strv_add_unique(char ***v, size_t *n, char *s)
{
	char **grown;

	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], s) == 0) {
			free(s);
			return 0;
		}
	}
	if ((grown = realloc(*v, (*n + 2) * sizeof(**v))) == NULL) {
		free(s);
		return -1;
	}
	*v = grown;
	grown[(*n)++] = s;
	grown[*n] = NULL;
	return 0;
}

/* Why name is not a host name a certificate may carry, or NULL. */
static const char *
dns_problem(const char *name)
{
	size_t len = strlen(name), label = 0;
	const char *p = name;
	struct in6_addr a6;

	if (len == 0 || len > CS_DNS_MAX)
		return "empty or longer than 253 characters";
	if (inet_pton(AF_INET, name, &a6) == 1 || inet_pton(AF_INET6, name, &a6) == 1)
		return "an IP address: give it with --ip";
	if (strncmp(p, "*.", 2) == 0)
		p += 2;                         /* a wildcard, as the whole first label only */
	for (; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return "a label is empty or ends with '-'";
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return *p == '*' ? "a wildcard may only be the whole first label "
			    "(*.example.com)" : "use letters, digits, '-' and '.' only";
		if (label == 0 && *p == '-')
			return "a label starts with '-'";
		if (++label > DNS_LABEL_MAX)
			return "a label is longer than 63 characters";
	}
	if (label == 0 || p[-1] == '-')
		return "a label is empty or ends with '-'";
	return NULL;
}

int
cs_san_dns_check(const char *const *in, size_t n, char ***out, size_t *n_out,
    struct cs_error *err)
{
	const char *problem;
	char *s;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(in[i]);

		if ((s = strdup(in[i])) == NULL)
			goto oom;
		/* case-insensitive names, and "example.com." means example.com */
		for (char *c = s; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		if (len > 1 && s[len - 1] == '.')
			s[len - 1] = '\0';
		if ((problem = dns_problem(s)) != NULL) {
			cs_error_set(err, "DNS name \"%.253s\" is not valid: %s", in[i], problem);
			free(s);
			goto fail;
		}
		if (strv_add_unique(out, n_out, s) == -1)
			goto oom;
	}
	return 0;
oom:
	cs_error_set(err, "out of memory");
fail:
	cs_strv_free(*out);
	*out = NULL;
	*n_out = 0;
	return -1;
}

int
cs_san_ip_check(const char *const *in, size_t n, char ***out, size_t *n_out,
    struct cs_error *err)
{
	unsigned char a[sizeof(struct in6_addr)];
	char text[IP_TEXT_MAX];
	int af;
	char *s;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++) {
		af = strchr(in[i], ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(af, in[i], a) != 1 || inet_ntop(af, a, text, sizeof(text)) == NULL) {
			cs_error_set(err, "IP address \"%.64s\" is not valid: write an IPv4 address "
			    "(192.0.2.1) or an IPv6 address (2001:db8::1), without a prefix length or "
			    "zone", in[i]);
			goto fail;
		}
		if ((s = strdup(text)) == NULL || strv_add_unique(out, n_out, s) == -1) {
			cs_error_set(err, "out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	cs_strv_free(*out);
	*out = NULL;
	*n_out = 0;
	return -1;
}

static int
push_dns(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (g == NULL || s == NULL || !ASN1_STRING_set(s, name, -1)) {
		GENERAL_NAME_free(g);
		ASN1_IA5STRING_free(s);
		return -1;
	}
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return -1;
	}
	return 0;
}

static int
push_ip(GENERAL_NAMES *gens, const char *ip)
{
	ASN1_OCTET_STRING *o = a2i_IPADDRESS(ip);
	GENERAL_NAME *g = o != NULL ? GENERAL_NAME_new() : NULL;

	if (g == NULL) {
		ASN1_OCTET_STRING_free(o);
		return -1;
	}
	GENERAL_NAME_set0_value(g, GEN_IPADD, o);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return -1;
	}
	return 0;
}

GENERAL_NAMES *
cs_san_names(char *const *dns, size_t n_dns, char *const *ip, size_t n_ip)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	if (gens == NULL)
		return NULL;
	for (size_t i = 0; i < n_dns; i++)
		if (push_dns(gens, dns[i]) == -1)
			goto fail;
	for (size_t i = 0; i < n_ip; i++)
		if (push_ip(gens, ip[i]) == -1)
			goto fail;
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* One general name as "DNS:x", "IP:y", or NULL for kinds we do not show. */
static char *
general_name_text(const GENERAL_NAME *g)
{
	char buf[CS_DNS_MAX + 16], ip[IP_TEXT_MAX];
	int type;
	const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);

	switch (type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		snprintf(buf, sizeof(buf), "%s:%.*s", type == GEN_DNS ? "DNS" :
		    type == GEN_EMAIL ? "email" : "URI", ASN1_STRING_length(s),
		    (const char *)ASN1_STRING_get0_data(s));
		break;
	case GEN_IPADD:
		if ((ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16) ||
		    inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
		    ASN1_STRING_get0_data(s), ip, sizeof(ip)) == NULL)
			return strdup("IP:(malformed)");
		snprintf(buf, sizeof(buf), "IP:%s", ip);
		break;
	default:
		snprintf(buf, sizeof(buf), "othername");
	}
	/* a hostile name must not bring control characters into a terminal or log */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return strdup(buf);
}

int
cs_san_list(X509 *x, char ***out, size_t *n, struct cs_error *err)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char *s;

	*n = 0;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		goto oom;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if ((s = general_name_text(sk_GENERAL_NAME_value(gens, i))) == NULL ||
		    strv_add_unique(out, n, s) == -1)
			goto oom;
	}
	GENERAL_NAMES_free(gens);
	return 0;
oom:
	GENERAL_NAMES_free(gens);
	cs_strv_free(*out);
	*out = NULL;
	*n = 0;
	cs_error_set(err, "out of memory");
	return -1;
}
