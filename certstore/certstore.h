/* certstore.h: the only certstore header the daemon and certwrapctl include.
 *
 * The library never prints, never exits and never touches the network. A
 * failing call fills a struct cs_error with a message in an operator's words:
 * what is wrong, with which file or certificate, and how to fix it. */
#ifndef CERTWRAP_CERTSTORE_H
#define CERTWRAP_CERTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CS_PEM_MAX_BYTES     (1024 * 1024)   /* one PEM file or message */
#define CS_PEM_MAX_CERTS     16              /* certificates in one file: leaf + chain */
#define CS_EXPIRY_WARN_DAYS  30
#define CS_MIN_RSA_BITS      2048
#define CS_MIN_EC_BITS       224
#define CS_MAX_WARNINGS      16
/* Decrypting an ENCRYPTED PRIVATE KEY costs what the key itself asks for;
 * more than this is refused before any work (OpenSSL makes 2048 iterations,
 * scrypt N=16384 r=8 p=1). */
#define CS_PEM_MAX_KDF_ITER     1000000
#define CS_PEM_MAX_SCRYPT_WORK  (1UL << 22)     /* N * r * p */

struct cs_error {
	char msg[1024];
};

/* What validation repaired or wants the operator to know; never fatal. */
struct cs_warnings {
	unsigned count;
	char msg[CS_MAX_WARNINGS][320];
};

/* --- PEM input (pem.c): bounded parsing of outside data ------------------- */

/* Reads a whole file of at most CS_PEM_MAX_BYTES into a NUL-terminated
 * buffer the caller frees with cs_pem_buf_free (it wipes it: it may hold a key).
 * NULL with err ("path: why") on failure. */
char *cs_pem_read_file(const char *path, size_t *len, struct cs_error *err);
void cs_pem_buf_free(char *buf, size_t len);

/* Every certificate block of pem, in file order: CERTIFICATE, its old
 * synonym X509 CERTIFICATE, and TRUSTED CERTIFICATE (OpenSSL's -trustout
 * form; its trust settings are ignored). Other blocks (a private key in a
 * combined file, EC or DH PARAMETERS, a CSR) are skipped. pem need not be
 * NUL-terminated and is never read past len. name labels messages. NULL with
 * err when there is none, one is malformed ("mail.pem: certificate 2 of 3 is
 * not valid PEM/DER: bad base64 encoding"), there are more than
 * CS_PEM_MAX_CERTS, or len exceeds CS_PEM_MAX_BYTES. Binary input (DER,
 * PKCS#12) is not accepted: err gives the openssl command that converts it.
 * The caller frees with sk_X509_pop_free(s, X509_free). */
STACK_OF(X509) *cs_pem_parse_certs(const char *pem, size_t len, const char *name,
    struct cs_error *err);

/* The one private key in pem: PRIVATE KEY (PKCS#8), traditional RSA/EC/DSA
 * PRIVATE KEY, and, when passphrase is not NULL, ENCRYPTED PRIVATE KEY or a
 * traditional key with Proc-Type encryption (a PKCS#8 key whose key
 * derivation asks for more than CS_PEM_MAX_KDF_ITER or CS_PEM_MAX_SCRYPT_WORK
 * is refused before decrypting). Never prompts on a terminal.
 * Certificates and parameters in the same file are skipped; two keys are an
 * error. Same bounds as cs_pem_parse_certs; DER and PKCS#12 are refused with
 * the command that converts them. NULL with err otherwise, saying e.g. that
 * the key is encrypted and no passphrase was given. */
EVP_PKEY *cs_pem_parse_key(const char *pem, size_t len, const char *name,
    const char *passphrase, struct cs_error *err);

/* --- validation (validate.c): the one check every served certificate passes - */

/* Where trust anchors come from when checking that a chain is complete. */
struct cs_trust {
	const char *ca_file;              /* PEM bundle of trusted roots, or NULL */
	const char *ca_path;              /* hashed directory, or NULL */
	bool use_system;                  /* also the system store (/etc/ssl/certs) */
};

/* A private key, its leaf certificate and the chain to send, validated. */
struct cs_keycert;

/* Validates a server certificate and its key, and orders its chain:
 *  - the key matches a certificate in the file: that one is the leaf (it need
 *    not be first; a leaf that was not first is a warning);
 *  - the chain is built leaf -> issuer -> ... from the other certificates;
 *    a shuffled order is repaired (warning); certificates not on the chain are
 *    dropped (warning); a self-signed root is not sent (warning, unless the
 *    leaf itself is self-signed);
 *  - the chain ends at a self-signed root in the file or at a trust anchor;
 *    otherwise it is incomplete and err names the missing issuer;
 *  - every certificate on the chain (leaf and intermediates) is valid at now:
 *    expired or not yet valid is refused; a leaf expiring within
 *    CS_EXPIRY_WARN_DAYS is a warning;
 *  - keys: RSA/DSA under CS_MIN_RSA_BITS, EC under CS_MIN_EC_BITS refused;
 *    signatures with MD5 or SHA-1 refused (a root's self-signature excepted;
 *    a self-signed leaf is sent, so its own signature counts);
 *  - the leaf must be a server certificate: a self-signed leaf may be CA:TRUE
 *    (`openssl req -x509` makes it so), but a CA-issued leaf that is itself
 *    CA:TRUE, or whose keyUsage/extendedKeyUsage forbid TLS servers, is
 *    refused; every intermediate must be a CA.
 * An issuer missing from the file but found among the trust anchors is used:
 * a root completes the chain (not sent), an intermediate is sent with a
 * warning that tells where to append it. The trust anchors are read only when
 * the file alone does not reach a root.
 * cert_name and key_name label the sources in messages (file paths, or
 * "NAME@3" for store versions). Takes nothing: the caller still owns certs and
 * key. NULL with err on refusal (one message: the first problem found).
 * warnings may be NULL; its count is reset first, and on refusal it holds
 * what was found before the refusal. */
struct cs_keycert *cs_keycert_validate(STACK_OF(X509) *certs, const char *cert_name,
    EVP_PKEY *key, const char *key_name, const struct cs_trust *trust, time_t now,
    struct cs_warnings *warnings, struct cs_error *err);

/* cs_pem_read_file + cs_pem_parse_certs + cs_pem_parse_key + cs_keycert_validate.
 * key_path NULL: the key is in cert_path (stunnel's default). No passphrase:
 * an encrypted key is refused. A key file every user may read is a warning. */
struct cs_keycert *cs_keycert_load_files(const char *cert_path, const char *key_path,
    const struct cs_trust *trust, time_t now, struct cs_warnings *warnings,
    struct cs_error *err);

/* Borrowed pointers, valid until cs_keycert_free. */
EVP_PKEY *cs_keycert_key(const struct cs_keycert *kc);
X509 *cs_keycert_leaf(const struct cs_keycert *kc);
STACK_OF(X509) *cs_keycert_chain(const struct cs_keycert *kc);   /* to send after the leaf */
time_t cs_keycert_not_after(const struct cs_keycert *kc);
const char *cs_keycert_subject(const struct cs_keycert *kc);     /* "CN=mail.example.com" */
/* "leaf CN=a, issued by CN=B Intermediate, chain 1 (root CN=C Root not sent),
 * expires 2027-11-23 (365 days)": what -t prints; a self-signed leaf reads
 * "leaf CN=a, self-signed, chain 0, expires ...". Days count from the now
 * given to cs_keycert_validate. */
const char *cs_keycert_summary(const struct cs_keycert *kc);

void cs_keycert_free(struct cs_keycert *kc);       /* NULL is a no-op */

/* --- helpers shared with callers ------------------------------------------------- */

/* "CN=mail.example.com, O=Example" (RFC 2253 order reversed to read naturally). */
void cs_name_oneline(const X509_NAME *name, char *buf, size_t len);

/* Whole days from now until t (negative when t has passed), truncated toward
 * zero: less than a day either way is 0. */
long cs_days_until(time_t t, time_t now);

#endif
