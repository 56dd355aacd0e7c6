/* proxyheader.c: PROXY protocol v1 and v2 headers (HAProxy's proxy-protocol.txt). */
#include "proxy/proxyheader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* v2: the 12-byte signature, then version 2 with command PROXY (0x21). */
static const unsigned char v2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};
#define V2_VERSION_PROXY  0x21
#define V2_UNSPEC         0x00            /* family and transport unknown */
#define V2_TCP4           0x11            /* AF_INET, SOCK_STREAM */
#define V2_TCP6           0x21            /* AF_INET6, SOCK_STREAM */

/* One endpoint of the connection, reduced to what the header carries. */
struct hdr_addr {
	int family;                       /* AF_INET, AF_INET6, or AF_UNSPEC: unknown */
	unsigned char ip[16];             /* network order; 4 bytes used for AF_INET */
	uint16_t port;                    /* host order */
};

/* A v4-mapped IPv6 address (::ffff:a.b.c.d, an IPv4 client on a dual-stack
 * socket) is an IPv4 address to the backend. */
static struct hdr_addr
hdr_addr_of(const struct sockaddr *sa)
{
	struct hdr_addr a = { .family = AF_UNSPEC };

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		a.family = AF_INET;
		memcpy(a.ip, &in->sin_addr, 4);
		a.port = ntohs(in->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		a.port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a.family = AF_INET;
			memcpy(a.ip, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			a.family = AF_INET6;
			memcpy(a.ip, &in6->sin6_addr, 16);
		}
	}
	return a;
}

static int
encode_v1(const struct hdr_addr *src, const struct hdr_addr *dst, unsigned char *out,
    size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int n;

	if (src->family == AF_UNSPEC || src->family != dst->family) {
		n = snprintf((char *)out, size, "PROXY UNKNOWN\r\n");
	} else {
		inet_ntop(src->family, src->ip, s, sizeof(s));
		inet_ntop(dst->family, dst->ip, d, sizeof(d));
		n = snprintf((char *)out, size, "PROXY %s %s %s %u %u\r\n",
		    src->family == AF_INET ? "TCP4" : "TCP6", s, d, src->port, dst->port);
	}
	return n > 0 && (size_t)n < size ? n : -1;
}

static unsigned char *
put_port(unsigned char *p, uint16_t port)
{
	p[0] = (unsigned char)(port >> 8);
	p[1] = (unsigned char)(port & 0xff);
	return p + 2;
}

static int
encode_v2(const struct hdr_addr *src, const struct hdr_addr *dst, unsigned char *out,
    size_t size)
{
	bool known = src->family != AF_UNSPEC && src->family == dst->family;
	size_t ip_len = !known ? 0 : src->family == AF_INET ? 4 : 16;
	size_t addr_len = known ? 2 * ip_len + 4 : 0;
	unsigned char *p = out;

	if (size < sizeof(v2_signature) + 4 + addr_len)
		return -1;
	memcpy(p, v2_signature, sizeof(v2_signature));
	p += sizeof(v2_signature);
	*p++ = V2_VERSION_PROXY;
	*p++ = !known ? V2_UNSPEC : src->family == AF_INET ? V2_TCP4 : V2_TCP6;
	p = put_port(p, (uint16_t)addr_len);          /* the length, network order too */
	if (known) {
		memcpy(p, src->ip, ip_len);
		memcpy(p + ip_len, dst->ip, ip_len);
		p = put_port(p + 2 * ip_len, src->port);
		p = put_port(p, dst->port);
	}
	return (int)(p - out);
}

int
proxyheader_encode(enum proxy_header version, const struct sockaddr *src,
    const struct sockaddr *dst, unsigned char *out, size_t size)
{
	struct hdr_addr s = hdr_addr_of(src), d = hdr_addr_of(dst);

	switch (version) {
	case PROXY_HEADER_NONE:
		return 0;
	case PROXY_HEADER_V1:
		return encode_v1(&s, &d, out, size);
	case PROXY_HEADER_V2:
		return encode_v2(&s, &d, out, size);
	}
	return -1;
}
