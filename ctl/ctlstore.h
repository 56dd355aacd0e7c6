/* ctlstore.h: the certificate store's verbs as requests and responses.
 *
 * One executor for both places a store verb runs: certwrapctl --store DIR
 * calls it in-process, and certwrapd calls it for a request that came over
 * the control socket. Both therefore give the same answers, and this file
 * is part of the control protocol's contract (ctl/ctlproto.h describes the
 * frames; here are the fields of the store verbs).
 *
 * Conventions (every verb)
 *   - A request's first field is `verb`. Every other field is named below;
 *     a field the verb does not take, or a single-valued field given twice,
 *     is refused, so a typo or a newer client never passes unnoticed.
 *   - Values: text is UTF-8 without control characters; numbers are
 *     decimal; booleans are "yes" or "no"; times are UTC, ISO 8601
 *     ("2027-11-23T17:13:00Z"); PEM travels whole inside the message
 *     (at most CS_PEM_MAX_BYTES a field): the daemon never opens a path
 *     the caller names. `*_name` fields are labels for messages only.
 *   - `passphrase`: the CA key's passphrase, when the key is encrypted
 *     (certwrapctl reads it from --passphrase-file or --passphrase-prompt).
 *   - A response starts with `status` ("ok" or "error") and `message` (for
 *     people: the reason when status is error), then any number of
 *     `warning` fields, then the verb's header fields, then records. Each
 *     record starts with `record` naming its kind and ends with a field
 *     named "-" (CTLPROTO_RECORD_END). A response may be an error and still
 *     carry records: renew --all reports what it did before what failed.
 *   - Kinds of record and their fields:
 *       change       a current version changed: event (issue, renew,
 *                    rollback), name, version, previous (0: none), serial,
 *                    not_after, days_left, dir, file.key, file.cert,
 *                    file.chain, file.fullchain
 *       certificate  name, version, current, versions, serial, subject,
 *                    issuer, subject_openssl, issuer_openssl (as `openssl
 *                    x509 -subject` spells them), not_before, not_after,
 *                    days_left, renew_at, fingerprint_sha256, key (e.g.
 *                    "EC P-256"), san (repeated: "DNS:x", "IP:y"), client,
 *                    status (valid, due, expired, revoked, invalid),
 *                    problem (only when invalid), then per certificate sent
 *                    after the leaf chain.subject, chain.issuer,
 *                    chain.not_after (repeated, in order), then dir,
 *                    file.key, file.cert, file.chain, file.fullchain,
 *                    file.csr
 *       not-due      name, due_at: renew left it alone
 *       outside      name, issuer, not_after, days_left, due_at: renew --all
 *                    leaves a certificate of an outside CA to that CA
 *       failed       name, error: one name of several failed ("crl" for
 *                    the CRL that renew --all could not make)
 *       request      name, subject, dir, file.key, file.csr, csr (PEM)
 *       signed       serial, subject, not_after, days_left, file.newcert,
 *                    cert (PEM), chain (PEM: what it sends after itself)
 *       revoked      name (when asked by name), serial, subject (as the
 *                    index has it), reason ("" when none), revoked_at
 *       crl          made (yes/no), file.crl, crl_number, last_update,
 *                    next_update, due_at, revoked (entries), crl_pem (PEM,
 *                    from the crl verb only)
 *       problem      what (a name, "ca", "root", "crl"), state (WARNING,
 *                    CRITICAL), problem
 *       file         name (relative: "postfix.pem", "cacerts/1a2b3c4d.0"),
 *                    mode ("0600"), hashed (yes: "<hash>.0", take the next
 *                    free suffix as openssl rehash does), data (the bytes)
 *   - Daemon verbs (status, stats, swap, reload) follow the same shape;
 *     certwrapctl shows fields it does not know as they come.
 *
 * The verbs (request fields; response header fields; records)
 *
 *   issue     name, dns (repeated), ip (repeated), days or lifetime
 *             (seconds, at least CS_MIN_LIFETIME_S: a short-lived
 *             certificate), key_type, client, passphrase
 *             -> one change record (event issue)
 *   csr       name, dns, ip, subject ("/O=.../CN=..."), key_type, replace
 *             -> one request record; the key stays in the store
 *   import    name, cert (PEM: the certificate, a chain may follow), chain
 *             (PEM), key (PEM; absent: the waiting request's key, else the
 *             current version's), ca (PEM: roots to trust besides the
 *             system's and the store's), cert_name, chain_name, key_name,
 *             ca_name
 *             -> one change record (event import)
 *   sign      csr (PEM), csr_name, days, client, passphrase
 *             -> one signed record
 *   renew     name | all=yes, reuse_key, before (seconds: renew only when
 *             it expires within them; for all, the default is the rule of
 *             certstore_renew_due), days, key_type, passphrase
 *             -> per name a change (event renew), not-due, outside or
 *                failed record; with all, a crl record when the CRL was
 *                due and was made; status error when any failed
 *   rollback  name
 *             -> one change record (event rollback)
 *   revoke    target (a name that has a current version, else a serial)
 *             | name | serial, reason, passphrase
 *             -> one revoked record, one crl record (the CRL made again)
 *   crl       if_due (yes: only when due), passphrase
 *             -> one crl record, with crl_pem
 *   list      (nothing)
 *             -> one certificate record per name, sorted; a name that
 *                cannot be read is a failed record and makes status error
 *   show      name, version (0 or absent: the current one)
 *             -> one certificate record
 *   check     warn, crit (seconds; default 30 and 7 days)
 *             -> header exit (the Nagios code: 0 OK, 1 WARNING, 2
 *                CRITICAL, 3 UNKNOWN) and state; message is the one-line
 *                summary ("CERTWRAP WARNING - ... | perfdata"); one problem
 *                record per problem, critical first
 *   export    name, version, format (postfix, dovecot, exim, courier,
 *             qmail, sendmail, stunnel, separate, fullchain, combined,
 *             pkcs12), passphrase (of the PKCS#12 file)
 *             -> header hint ("main.cf: smtpd_tls_chain_files =
 *                DIR/postfix.pem": DIR stands for where they are written)
 *                and kept (the copy in the version's directory, written
 *                by the first export of that format); one file record per
 *                file, in the order to write them
 *   export-ca hashed
 *             -> header hint; file records (root.pem, chain.pem, or one
 *                "<hash>.0" per CA certificate)
 *
 * ca init and ca import make a store, so they are not requests: they work
 * on a directory (certwrapctl --store). certwrapctl sends certwrapd's own
 * verbs as: status; stats [service]; reload; swap service, then name and
 * version, or cert, key, chain (PEM) with cert_name, key_name, chain_name.
 *
 * The executor does not run hooks: a verb that changes a current appends
 * the change to env->changes, and the caller runs certstore_hook_run for
 * each (certwrapctl synchronously; certwrapd off its event loop). */
#ifndef CERTWRAP_CTLSTORE_H
#define CERTWRAP_CTLSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certstore/certstore.h"
#include "ctl/ctlproto.h"

#define CTLSTORE_PASSPHRASE_MAX  1024
#define CTLSTORE_LABEL_MAX       256    /* a *_name label */
#define CTLSTORE_TIME_MAX        32     /* "2027-11-23T17:13:00Z" and room */

/* The current versions a request changed, in order, for the hooks. */
struct ctlstore_changes {
	struct cs_change *v;
	size_t n, cap;
};
void ctlstore_changes_free(struct ctlstore_changes *c);   /* leaves it empty */

struct ctlstore_env {
	struct certstore *cs;               /* open; used by one thread at a time */
	time_t now;
	struct ctlstore_changes *changes;   /* appended to; NULL: not wanted */
};

/* Whether verb is one of the store verbs above. */
bool ctlstore_handles(const char *verb);

/* Runs req against env->cs and writes the whole response into resp (which
 * must be empty; the caller frees it with ctl_msg_free). Every field of req
 * is outside input and is checked before use. Never fails silently: out of
 * memory leaves resp empty, which callers send as an error of their own.
 * May take seconds (key generation, waiting for the store's lock up to
 * CS_LOCK_TIMEOUT_MS): a daemon calls it off its event loop. */
void ctlstore_execute(const struct ctlstore_env *env, const struct ctl_msg *req,
    struct ctl_msg *resp);

/* Time helpers shared with certwrapctl, which reads the records back. */
void ctlstore_time_format(time_t t, char *buf, size_t len);          /* ISO 8601 */
int ctlstore_time_parse(const char *text, time_t *t);               /* 0 or -1 */

#endif
