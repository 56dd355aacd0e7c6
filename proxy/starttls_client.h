/* starttls_client.h: client mode's STARTTLS dialogue with the upstream.
 *
 * With client = yes and protocol = smtp, imap or pop3, certwrapd asks the
 * upstream for TLS the way a mail client does before it relays anything:
 *
 *   SMTP  greeting 220, EHLO NAME -> 250 offering STARTTLS, STARTTLS -> 220
 *   IMAP  greeting * OK, a001 STARTTLS -> a001 OK (untagged lines skipped)
 *   POP3  greeting +OK, STLS -> +OK
 *
 * This is the dialogue alone, with no I/O: bytes from the upstream go in,
 * commands to send and a verdict come out, so it is unit-tested and fuzzed.
 * Every line is bounded (STARTTLS_CLIENT_LINE_MAX), so is the number of
 * lines and the greeting kept; the time is bounded by the caller.
 *
 * The dialogue is lockstep: once a reply is complete, the upstream has
 * nothing more to say until it gets the next command. Bytes after a
 * complete reply are refused, in particular after the positive STARTTLS
 * reply, where they could only be plaintext injected ahead of TLS. */
#ifndef CERTWRAP_STARTTLS_CLIENT_H
#define CERTWRAP_STARTTLS_CLIENT_H

#include <stddef.h>

#include "proxy/config.h"
#include "proxy/limits.h"

enum starttls_client_status {
	STC_READ,                         /* more bytes from the upstream are needed */
	STC_SEND,                         /* send out[0..out_len), then read again */
	STC_DONE,                         /* the upstream agreed: start the TLS handshake */
	STC_FAILED,                       /* reason says why; close the connection */
};

enum starttls_client_step {
	STC_GREETING,
	STC_EHLO_REPLY,                   /* SMTP only */
	STC_STARTTLS_REPLY,
	STC_FINISHED,
};

struct starttls_client {
	enum service_protocol protocol;
	enum starttls_client_step step;
	enum starttls_client_status status;
	char line[STARTTLS_CLIENT_LINE_MAX + 1];
	size_t line_len;
	unsigned lines;                   /* lines read so far */
	int starttls_offered;             /* SMTP: the EHLO reply named STARTTLS */
	char greeting[STARTTLS_CLIENT_GREETING_MAX];   /* for the client, CRLF lines */
	size_t greeting_len;
	char out[300];                    /* the command to send */
	size_t out_len;
	char ehlo_name[256];
	char reason[STARTTLS_CLIENT_LINE_MAX / 8];
};

/* Starts the dialogue for protocol (SMTP, IMAP or POP3); ehlo_name is the
 * name SMTP's EHLO gives (a host name; "localhost" when NULL or unusable). */
void starttls_client_init(struct starttls_client *s, enum service_protocol protocol,
    const char *ehlo_name);

/* Takes len bytes received from the upstream and says what to do next.
 * Before calling it again after STC_SEND, the caller has sent out. After
 * STC_DONE or STC_FAILED it only repeats that status. */
enum starttls_client_status starttls_client_feed(struct starttls_client *s, const char *data,
    size_t len);

/* The upstream's greeting as the legacy client should see it, CRLF-ended
 * lines: SMTP and POP3 as received; IMAP without a [CAPABILITY ...] code,
 * which lists the capabilities before TLS (STARTTLS, LOGINDISABLED), so
 * the client asks again and hears those after TLS. */
const char *starttls_client_greeting(const struct starttls_client *s, size_t *len);

#endif
