/* proxyheader.h: the PROXY protocol header (HAProxy's proxy-protocol.txt),
 * versions 1 and 2, encoded.
 *
 * The header tells the backend who the client really is: the client's
 * address and port (source) and the address and port it connected to
 * (destination, our accepting socket). It is the first thing the backend
 * reads on a connection, before any relayed byte. Pure: addresses in, bytes
 * out; conn.c puts them at the head of the client-to-backend pipe. */
#ifndef CERTWRAP_PROXYHEADER_H
#define CERTWRAP_PROXYHEADER_H

#include <stddef.h>
#include <sys/socket.h>

#include "proxy/config.h"

/* The longest header we write: v1's maximum is 107 bytes ("PROXY TCP6",
 * two full IPv6 addresses, two ports, CRLF); v2 with IPv6 is 16 + 36. */
#define PROXYHEADER_MAX_BYTES 108

/* Writes the header of version into out (size bytes, at least
 * PROXYHEADER_MAX_BYTES) for a TCP connection from src to dst; returns its
 * length, or 0 for PROXY_HEADER_NONE. IPv4-mapped IPv6 addresses are sent as
 * IPv4 when both are; addresses of different or other families are sent
 * as the spec's unknown ("PROXY UNKNOWN\r\n", v2 family AF_UNSPEC). Returns
 * -1 only if out is too small. */
int proxyheader_encode(enum proxy_header version, const struct sockaddr *src,
    const struct sockaddr *dst, unsigned char *out, size_t size);

#endif
