/* addr.c: resolving and printing `accept` and `connect` addresses. */
#include "proxy/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/config.h"

void
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(address family %d)", sa->sa_family);
	}
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static bool
already_listed(const struct addr *out, unsigned n, const struct addrinfo *ai)
{
	for (unsigned i = 0; i < n; i++)
		if (out[i].len == ai->ai_addrlen && memcmp(&out[i].ss, ai->ai_addr, ai->ai_addrlen) == 0)
			return true;
	return false;
}

int
addr_resolve(const struct conf_endpoint *ep, enum addr_role role, struct addr *out,
    unsigned max, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	const char *host = ep->host;
	unsigned n = 0;
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if (host == NULL && role == ADDR_ACCEPT) {
		host = "0.0.0.0";
		hints.ai_flags |= AI_PASSIVE;
	} else if (host == NULL) {
		host = "localhost";
	}
	if ((rc = getaddrinfo(host, ep->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve \"%s\" port \"%s\": %s", host, ep->port,
		    rc == EAI_SYSTEM ? "system error" : gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[n].ss) || already_listed(out, n, ai))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		addr_format(ai->ai_addr, out[n].label, sizeof(out[n].label));
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "\"%s\" has no usable address", host);
		return -1;
	}
	return (int)n;
}
