/* backend_auth.c: the one user the test backend knows, and the SASL PLAIN
 * and base64 decoding that SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH share. */
#include <string.h>

#include "backend.h"

enum auth_result
auth_check(const struct backend_ctx *ctx, const char *user, const char *pass)
{
	return strcmp(user, ctx->user) == 0 && strcmp(pass, ctx->pass) == 0 ?
	    AUTH_OK : AUTH_FAILED;
}

static int
b64_value(char ch)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch != '\0' ? strchr(alphabet, ch) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

long
auth_base64_decode(const char *in, char *out, size_t outsize)
{
	size_t len = strlen(in), o = 0, i;
	unsigned long acc = 0;
	int bits = 0, v;

	if (len % 4 != 0 || outsize == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == '=') {
			/* padding: only at the end, at most two */
			if (i + 2 < len || (i + 1 < len && in[i + 1] != '='))
				return -1;
			break;
		}
		if ((v = b64_value(in[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outsize)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return (long)o;
}

enum auth_result
auth_sasl_plain(const struct backend_ctx *ctx, const char *b64)
{
	char buf[3 * AUTH_FIELD_MAX];
	const char *authcid, *passwd, *end;
	long n;

	if ((n = auth_base64_decode(b64, buf, sizeof(buf))) < 0)
		return AUTH_MALFORMED;
	end = buf + n;
	/* authzid NUL authcid NUL passwd; the authzid is ignored */
	if ((authcid = memchr(buf, '\0', (size_t)n)) == NULL || ++authcid >= end)
		return AUTH_MALFORMED;
	if ((passwd = memchr(authcid, '\0', (size_t)(end - authcid))) == NULL)
		return AUTH_MALFORMED;
	passwd++;
	if (memchr(passwd, '\0', (size_t)(end - passwd)) != NULL)
		return AUTH_MALFORMED;
	return auth_check(ctx, authcid, passwd);
}
