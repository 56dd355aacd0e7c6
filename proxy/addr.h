/* addr.h: socket addresses of `accept` and `connect`: resolve, print, compare. */
#ifndef CERTWRAP_ADDR_H
#define CERTWRAP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "proxy/limits.h"

struct conf_endpoint;

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char label[ADDR_LABEL_BYTES];     /* "127.0.0.1:993", "[::1]:993" */
};

enum addr_role {
	ADDR_ACCEPT,                      /* no host: all IPv4 addresses (stunnel) */
	ADDR_CONNECT,                     /* no host: localhost (stunnel) */
};

/* Resolves ep into at most max addresses, in resolver order, duplicates
 * removed. Returns how many (at least 1), or -1 with err ("cannot resolve
 * \"mail.example\": Name or service not known"). Blocking: used at start and
 * reload only, never on a worker's loop. */
int addr_resolve(const struct conf_endpoint *ep, enum addr_role role, struct addr *out,
    unsigned max, char *err, size_t errlen);

/* Writes "host:port" for sa into buf ("[v6]:port" for IPv6). */
void addr_format(const struct sockaddr *sa, char *buf, size_t len);

bool addr_equal(const struct addr *a, const struct addr *b);

#endif
