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
	const char *extra_file;           /* a second bundle (a store's root), or NULL */
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

/* The leaf's serial in upper-case hex, as openssl prints it; SANs as
 * "DNS:mail.example.com, IP:192.0.2.1". -1 when buf is too small. */
int cs_keycert_serial(const struct cs_keycert *kc, char *buf, size_t len);
int cs_keycert_sans(const struct cs_keycert *kc, char *buf, size_t len);
/* Whether the leaf is valid for host, as a client checks: a DNS name
 * against DNS SANs (a wildcard SAN covers one label), an IP address against
 * IP SANs; "*.example.com" is covered by the same wildcard SAN only. */
bool cs_keycert_covers(const struct cs_keycert *kc, const char *host);

void cs_keycert_free(struct cs_keycert *kc);       /* NULL is a no-op */

/* --- the store ---------------------------------------------------------------------
 *
 * A store is a directory that the openssl CLI can read:
 *
 *   DIR/certstore.conf          this store's defaults (certwrapctl(8)); optional
 *   DIR/.lock                   flock()ed by every writer, around every change
 *   DIR/ca/cacert.pem           the signing CA (the root, or the intermediate)
 *   DIR/ca/private/cakey.pem    its key, 0600 (encrypted when a passphrase was given)
 *   DIR/ca/root.pem             the root: the trust anchor to give to clients
 *   DIR/ca/private/rootkey.pem  the root's key when an intermediate signs
 *   DIR/ca/chain.pem            what a leaf sends after itself (the intermediate, or empty)
 *   DIR/ca/index.txt            `openssl ca`'s six-field database (+ index.txt.attr)
 *   DIR/ca/serial, crlnumber    `openssl ca`'s counters, kept up to date
 *   DIR/ca/newcerts/SERIAL.pem  every certificate issued
 *   DIR/certs/NAME/current      symlink to the current version, replaced by one rename()
 *   DIR/certs/NAME/N/           version N, immutable: key.pem (0600), cert.pem, chain.pem,
 *                               fullchain.pem, csr.pem, meta
 *
 * Entries whose names start with ".tmp-" are writes in progress or left by a
 * crash: readers never look at them and the next writer removes them. Every
 * file is written to a temporary name, fsync()ed, renamed into place and its
 * directory fsync()ed; a version directory is built under a temporary name
 * and renamed whole (a name's first version together with its `current`);
 * `current` changes last. A reader therefore sees the old state or the new
 * one, never a mixture, and a crash at any instant leaves the last complete
 * state. The CA's records (newcerts/, index.txt, serial) are written before
 * the version, so a crash may leave an index entry that no version holds (a
 * certificate issued but never installed), never a version the index lacks.
 *
 * Times: every call takes `now` (time(NULL) in production) so that tests can
 * place it anywhere. Passphrases are never stored. A struct certstore is
 * used by one thread at a time (it holds the lock's descriptor while a
 * change runs); threads that share a store open one handle each. */

#define CS_NAME_MAX           64       /* a certificate name: [A-Za-z0-9][A-Za-z0-9._-]* */
#define CS_MAX_SANS           100      /* DNS names + IP addresses in one certificate */
#define CS_DNS_MAX            253
#define CS_SERIAL_BYTES       16       /* random serials: 127 bits, positive */
#define CS_SERIAL_HEX_MAX     40       /* RFC 5280: at most 20 octets */
#define CS_MAX_DAYS           36500
#define CS_MIN_LIFETIME_S     60       /* a short-lived certificate: a minute at least */
#define CS_MAX_LIFETIME_S     (CS_MAX_DAYS * 86400u)
#define CS_DEFAULT_LEAF_DAYS  365
#define CS_DEFAULT_CA_DAYS    3650
#define CS_DEFAULT_CRL_DAYS   30
#define CS_MAX_VERSION        999999
#define CS_LOCK_TIMEOUT_MS    60000    /* waiting for another writer */
#define CS_HOOK_TIMEOUT_S     60       /* default; certstore.conf [hooks] timeout */
#define CS_HOOK_OUTPUT_MAX    4096     /* of a hook's stdout and stderr, kept */
#define CS_PATH_MAX           4096
#define CS_TEXT_MAX           512      /* a subject or issuer as text */
/* renewal is due when a third of the lifetime is left; half for short lifetimes */
#define CS_RENEW_SHORT_DAYS   10
/* notBefore is set this far in the past, for clients whose clock is slow */
#define CS_BACKDATE_S         3600

struct certstore;                                   /* opaque */

enum cs_key_type {
	CS_KEY_DEFAULT,                             /* the store's default (certstore.conf) */
	CS_KEY_RSA2048, CS_KEY_RSA3072, CS_KEY_RSA4096,
	CS_KEY_EC_P256, CS_KEY_EC_P384,
	CS_KEY_ED25519,
};

/* "rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", "ed25519" (case
 * insensitive; "ec" alone is P-256, "rsa" alone 2048). -1 with err otherwise. */
int cs_key_type_parse(const char *text, enum cs_key_type *type, struct cs_error *err);
/* The canonical spelling above; "default" for CS_KEY_DEFAULT. */
const char *cs_key_type_name(enum cs_key_type type);

/* Opens the store at dir, creating nothing: dir must hold ca/cacert.pem (made
 * by certstore_ca_init) and, when present, a valid certstore.conf. NULL with
 * err on failure. The caller closes it with certstore_close (NULL is a no-op).
 * The handle holds no lock and no open file: writers lock per call. */
struct certstore *certstore_open(const char *dir, struct cs_error *err);
void certstore_close(struct certstore *cs);
/* Whether dir holds a store with a CA (what certstore_open needs): lets a
 * caller decide to run certstore_ca_init first. */
bool certstore_has_ca(const char *dir);
const char *certstore_dir(const struct certstore *cs);

/* --- the CA (ca.c) --- */

struct cs_ca_params {
	enum cs_key_type key_type;          /* CS_KEY_DEFAULT: ec:P-256 */
	const char *subject;                /* "/O=Example/CN=Example Mail CA" (openssl req
	                                       -subj syntax); NULL: "/CN=certwrap Root CA" */
	const char *intermediate_subject;   /* NULL: the root's, with CN "... Intermediate CA" */
	unsigned days;                      /* root validity; 0: CS_DEFAULT_CA_DAYS. An
	                                       intermediate gets half of it */
	bool intermediate;                  /* a root that signs an intermediate that signs */
	const char *passphrase;             /* encrypts the CA keys (AES-256); NULL: none */
	time_t now;
};

/* Creates a store with a new CA in dir (made 0755 if missing; it may exist
 * but must have no ca/ yet). The whole ca/ is built under a temporary name
 * and renamed into place, so a store either has a complete CA or none.
 * Also writes certstore.conf with the defaults (unless one exists; then it
 * must be valid), .lock and certs/, before ca/. On failure there is no ca/;
 * dir, .lock, certs/ and certstore.conf may remain, and a new ca init works. */
int certstore_ca_init(const char *dir, const struct cs_ca_params *p, struct cs_error *err);

/* Whether the signing CA's key is encrypted (then issue and renew need a passphrase). */
bool certstore_ca_key_encrypted(struct certstore *cs);

/* --- what a version is ------------------------------------------------------------- */

/* The files of one version; absolute or relative as the store's dir was given. */
struct cs_paths {
	char dir[CS_PATH_MAX];
	char key[CS_PATH_MAX], cert[CS_PATH_MAX], chain[CS_PATH_MAX], fullchain[CS_PATH_MAX];
	char csr[CS_PATH_MAX], meta[CS_PATH_MAX];
};

enum cs_event { CS_EVENT_ISSUE, CS_EVENT_RENEW, CS_EVENT_ROLLBACK };
const char *cs_event_name(enum cs_event e);          /* "issue", "renew", "rollback" */

/* What a change made current: for the caller's message and for the hook. */
struct cs_change {
	enum cs_event event;
	char name[CS_NAME_MAX + 1];
	unsigned version;                   /* now current */
	unsigned previous;                  /* current before, 0 when none */
	char serial[CS_SERIAL_HEX_MAX + 1]; /* of the now current certificate */
	time_t not_after;
	struct cs_paths paths;
};

/* --- issue, renew, rollback (issue.c, store.c) ------------------------------------- */

struct cs_issue_params {
	const char *name;                   /* the certificate's name in the store */
	const char *const *dns;             /* DNS names ("*.example.com" allowed) */
	size_t n_dns;
	const char *const *ip;              /* IPv4 or IPv6 addresses */
	size_t n_ip;
	unsigned days;                      /* 0: the store's default */
	unsigned lifetime_s;                /* instead of days, for short-lived certificates
	                                       (CS_MIN_LIFETIME_S and up); 0: days */
	enum cs_key_type key_type;          /* CS_KEY_DEFAULT: the store's default */
	bool client;                        /* extendedKeyUsage clientAuth as well */
	const char *passphrase;             /* of the CA key, when it is encrypted */
	time_t now;
};

/* Makes a key and a certificate for a new name, signed by the store's CA:
 * CN = the first DNS name (or IP), SANs, basicConstraints CA:FALSE
 * (critical), keyUsage digitalSignature (+keyEncipherment for RSA),
 * extendedKeyUsage serverAuth (+clientAuth), SKI/AKI, SHA-256 (SHA-384 for a
 * P-384 CA, EdDSA for an Ed25519 CA), a random serial not in the index.
 * The result passes cs_keycert_validate before it is written; then the index,
 * newcerts/ and serial are updated, version 1 is built and made current.
 * Refused when the name already has a current version. On success fills out
 * (the caller should then run certstore_hook_run); warnings may be NULL.
 * On failure nothing visible changed (err says why); a crash leaves at most
 * an index entry for a certificate that no version holds. */
int certstore_issue(struct certstore *cs, const struct cs_issue_params *p,
    struct cs_change *out, struct cs_warnings *warnings, struct cs_error *err);

struct cs_renew_params {
	const char *name;
	bool reuse_key;                     /* keep the key (DANE/TLSA pins); default: new key */
	unsigned days;                      /* 0: the lifetime the name was issued with */
	unsigned lifetime_s;                /* instead of days; 0: as issued (days or seconds) */
	enum cs_key_type key_type;          /* CS_KEY_DEFAULT: the current key's type */
	const char *passphrase;             /* of the CA key, when it is encrypted */
	time_t now;
};

/* A new version of name with the same names (SANs, clientAuth) as the
 * current one, made current the way certstore_issue does; the previous
 * version stays for certstore_rollback. Renews whether due or not: callers
 * ask certstore_renew_due first when they want the rule. */
int certstore_renew(struct certstore *cs, const struct cs_renew_params *p,
    struct cs_change *out, struct cs_warnings *warnings, struct cs_error *err);

/* When name's current certificate is due for renewal: before_s > 0 means
 * "when it expires within before_s seconds"; 0 means the default rule (a
 * third of its lifetime left, half for lifetimes of CS_RENEW_SHORT_DAYS or
 * less). *due_at gets the instant; *due whether now is past it. */
int certstore_renew_due(struct certstore *cs, const char *name, long before_s, time_t now,
    bool *due, time_t *due_at, struct cs_error *err);

/* Makes the version before the current one current again, after validating
 * it (an expired or otherwise invalid version is refused). Versions are never
 * removed; a later renew makes a new version above all existing ones. */
int certstore_rollback(struct certstore *cs, const char *name, time_t now,
    struct cs_change *out, struct cs_warnings *warnings, struct cs_error *err);

/* --- reading (store.c, info.c) ----------------------------------------------------- */

/* Names that have a current version, sorted. *names is a NULL-terminated
 * array the caller frees with cs_strv_free. */
int certstore_names(struct certstore *cs, char ***names, struct cs_error *err);
void cs_strv_free(char **v);

/* Version numbers of name, ascending (complete versions only). The caller
 * frees *versions. */
int certstore_versions(struct certstore *cs, const char *name, unsigned **versions,
    size_t *n, struct cs_error *err);

/* The version `current` points at: one readlink(), cheap enough to poll.
 * A change of current is a change of this number (versions only grow, and a
 * rollback points at an older number), so watchers compare it, or watch
 * certs/NAME/ for the rename. -1 with err when name has none. */
int certstore_current(struct certstore *cs, const char *name, unsigned *version,
    struct cs_error *err);

/* The file paths of name's version (0: the current one). */
int certstore_paths(struct certstore *cs, const char *name, unsigned version,
    struct cs_paths *out, struct cs_error *err);

/* Loads and validates name's version (0: the current one; resolved once, so
 * a concurrent change cannot mix two versions): the key (refused when group
 * or world readable), the certificate and chain, through cs_keycert_validate
 * with the store's root as trust anchor. Messages name the version "NAME@N".
 * *loaded (may be NULL) gets the version loaded. Free with cs_keycert_free. */
struct cs_keycert *certstore_load(struct certstore *cs, const char *name, unsigned version,
    time_t now, unsigned *loaded, struct cs_warnings *warnings, struct cs_error *err);

enum cs_status {
	CS_STATUS_VALID,                    /* valid, renewal not due yet */
	CS_STATUS_DUE,                      /* valid, renewal due */
	CS_STATUS_EXPIRED,
	CS_STATUS_REVOKED,                  /* the index says R */
	CS_STATUS_INVALID,                  /* fails validation: problem says why */
};
const char *cs_status_name(enum cs_status s);        /* "valid", "due", ... */

struct cs_chain_entry {
	char subject[CS_TEXT_MAX];
	char issuer[CS_TEXT_MAX];
	time_t not_after;
};

/* One certificate as list and show present it. Strings are filled even for
 * an invalid version, as far as its files could be read. */
struct cs_cert_info {
	char name[CS_NAME_MAX + 1];
	unsigned version;                   /* 0 for a CA certificate */
	bool current;
	unsigned n_versions;
	char serial[CS_SERIAL_HEX_MAX + 1]; /* upper-case hex, as openssl prints it */
	char subject[CS_TEXT_MAX];          /* "CN=mail.example.com, O=Example" */
	char issuer[CS_TEXT_MAX];
	char subject_openssl[CS_TEXT_MAX];  /* as `openssl x509 -subject`: "O = Example, CN = a" */
	char issuer_openssl[CS_TEXT_MAX];
	time_t not_before, not_after;
	long days_left;                     /* cs_days_until(not_after, now) */
	time_t renew_at;                    /* the default renewal rule */
	char fingerprint[96];               /* SHA-256, "AB:CD:...", as openssl prints it */
	char key[64];                       /* "EC P-256", "RSA 2048 bits", "Ed25519" */
	char **sans;                        /* "DNS:mail.example.com", "IP:192.0.2.1" */
	size_t n_sans;
	bool client;                        /* extendedKeyUsage has clientAuth */
	enum cs_status status;
	char problem[sizeof(((struct cs_error *)0)->msg)];   /* why INVALID, else "" */
	size_t n_chain;                     /* certificates sent after the leaf */
	struct cs_chain_entry chain[CS_PEM_MAX_CERTS];
};

/* Fills out for name's version (0: current). A version that exists but
 * fails validation is not an error: status INVALID and problem say why.
 * -1 with err only when the name or version does not exist or cannot be
 * read at all. Clear with cs_cert_info_clear (frees sans). */
int certstore_info(struct certstore *cs, const char *name, unsigned version, time_t now,
    struct cs_cert_info *out, struct cs_error *err);
void cs_cert_info_clear(struct cs_cert_info *info);

enum cs_ca_role { CS_CA_SIGNING, CS_CA_ROOT };
/* The same for the store's signing CA or root (name "ca" or "root"). */
int certstore_ca_info(struct certstore *cs, enum cs_ca_role role, time_t now,
    struct cs_cert_info *out, struct cs_error *err);

/* --- hooks (hook.c) ----------------------------------------------------------------- */

struct cs_hook_result {
	bool ran;                           /* false: no hook configured, nothing done */
	int exit_status;                    /* 0..255, or -1 when killed or not started */
	char command[CS_TEXT_MAX];
	char output[CS_HOOK_OUTPUT_MAX];    /* its stdout and stderr, cut at the limit */
	char summary[CS_TEXT_MAX];          /* "hook for mail@3: exit 0 (0.1 s)" */
};

/* Runs the store's hook command (certstore.conf [hooks] command) after a
 * change of a current: /bin/sh -c COMMAND with NAME and VERSION as $1 and $2
 * and CERTWRAP_EVENT, CERTWRAP_NAME, CERTWRAP_VERSION,
 * CERTWRAP_PREVIOUS_VERSION, CERTWRAP_SERIAL, CERTWRAP_NOT_AFTER,
 * CERTWRAP_STORE, CERTWRAP_DIR, CERTWRAP_KEY, CERTWRAP_CERT, CERTWRAP_CHAIN,
 * CERTWRAP_FULLCHAIN in its environment (any CERTWRAP_* of the caller's is
 * dropped); stdin is /dev/null. Waits at most the configured timeout, then
 * kills it with its process group; a background child that keeps the
 * output open is not waited for. Call it without holding the store's lock:
 * the hook may run certwrapctl itself. The caller must not ignore SIGCHLD
 * (the hook's exit status would be lost).
 * 0 when it exited 0 or no hook is configured; -1 with err when it could not
 * start, failed or timed out. r is filled either way. */
int certstore_hook_run(struct certstore *cs, const struct cs_change *c,
    struct cs_hook_result *r, struct cs_error *err);

/* --- helpers shared with callers ------------------------------------------------- */

/* "CN=mail.example.com, O=Example" (RFC 2253 order reversed to read naturally). */
void cs_name_oneline(const X509_NAME *name, char *buf, size_t len);

/* Whole days from now until t (negative when t has passed), truncated toward
 * zero: less than a day either way is 0. */
long cs_days_until(time_t t, time_t now);

#endif
