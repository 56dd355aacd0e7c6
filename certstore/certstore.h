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
	bool client_leaf;                 /* the leaf is a TLS client's certificate
	                                     (certwrapd's client mode), not a server's */
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
 *  - the leaf must be a server certificate (a client certificate when
 *    trust->client_leaf): a self-signed leaf may be CA:TRUE
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
/* The root the chain ended at (not sent), or NULL for a self-signed leaf. */
X509 *cs_keycert_root(const struct cs_keycert *kc);

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
 *                               fullchain.pem, csr.pem, meta; for a certificate from an
 *                               outside CA, root.pem when its root was given with it
 *   DIR/certs/NAME/request/     key.pem (0600) and csr.pem made by certstore_csr, waiting
 *                               for the outside CA's answer (certstore_import)
 *   DIR/ca/crl.pem              the CRL (certstore_crl), when one was made
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

enum cs_event { CS_EVENT_ISSUE, CS_EVENT_RENEW, CS_EVENT_ROLLBACK, CS_EVENT_IMPORT };
/* "issue", "renew", "rollback", "import" */
const char *cs_event_name(enum cs_event e);

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

/* --- requests for an outside CA, and their answers (request.c, import.c) ---------- */

struct cs_csr_params {
	const char *name;
	const char *const *dns;             /* as for certstore_issue */
	size_t n_dns;
	const char *const *ip;
	size_t n_ip;
	const char *subject;                /* "/O=Example/CN=mail.example.com" (openssl req
	                                       -subj); NULL: CN = the first DNS name (or IP) */
	enum cs_key_type key_type;          /* CS_KEY_DEFAULT: the store's default */
	bool replace;                       /* replace a request still waiting for its answer */
	time_t now;
};

/* A request waiting in certs/NAME/request/ for an outside CA's answer. */
struct cs_request {
	char dir[CS_PATH_MAX], key[CS_PATH_MAX], csr[CS_PATH_MAX];
	char subject[CS_TEXT_MAX];          /* "CN=mail.example.com, O=Example" */
	char *csr_pem;                      /* the CSR to send; cs_request_clear frees it */
	size_t csr_len;
};

/* Makes a key (0600, never leaves the store) and a CSR for it with the names
 * as subjectAltNames, SHA-256 (EdDSA for Ed25519), into certs/NAME/request/
 * (built under a temporary name and renamed whole). A request that is still
 * waiting is refused unless replace: its key is the only one the CA's answer
 * will fit. NAME may already have versions (a renewal by an outside CA). */
int certstore_csr(struct certstore *cs, const struct cs_csr_params *p, struct cs_request *out,
    struct cs_error *err);
void cs_request_clear(struct cs_request *r);

struct cs_import_params {
	const char *name;
	const char *cert_pem;               /* the certificate (a chain may follow it) */
	size_t cert_len;
	const char *cert_label;             /* for messages: where it came from */
	const char *chain_pem;              /* the intermediates, or NULL */
	size_t chain_len;
	const char *chain_label;
	const char *key_pem;                /* NULL: the key of NAME's waiting request, else
	                                       of its current version, whichever fits */
	size_t key_len;
	const char *key_label;
	const char *ca_pem;                 /* roots to trust besides the system's and the
	                                       store's own, or NULL */
	size_t ca_len;
	const char *ca_label;
	time_t now;
};

/* Brings an outside CA's certificate in as NAME's next version and makes it
 * current: it passes cs_keycert_validate with the system trust store, the
 * store's root and ca_pem as anchors (a missing intermediate is refused with
 * the issuer's name), is stored leaf-first without the root (kept as
 * root.pem when it did not come from the system store, to validate the
 * version again later), with a CSR (the request's, or one made for the key)
 * and meta origin import. A waiting request whose key was used is removed.
 * Imported names are not renewed here (certstore_renew refuses them). */
int certstore_import(struct certstore *cs, const struct cs_import_params *p,
    struct cs_change *out, struct cs_warnings *warnings, struct cs_error *err);

/* Whether name's current version came from an outside CA (certstore_import). */
bool certstore_is_imported(struct certstore *cs, const char *name);

/* --- signing someone else's request (sign.c) ------------------------------------------ */

struct cs_sign_params {
	const char *csr_pem;                /* one CERTIFICATE REQUEST */
	size_t csr_len;
	const char *csr_label;
	unsigned days;                      /* 0: the store's default */
	bool client;                        /* extendedKeyUsage clientAuth as well */
	const char *passphrase;             /* of the CA key, when it is encrypted */
	time_t now;
};

struct cs_signed {
	char *cert_pem, *chain_pem;         /* the certificate; what it sends after itself */
	size_t cert_len, chain_len;
	char serial[CS_SERIAL_HEX_MAX + 1];
	char subject[CS_TEXT_MAX];
	char newcert[CS_PATH_MAX];          /* its copy in ca/newcerts/ */
	time_t not_after;
};

/* Signs a CSR as `openssl ca -infiles` does, with the profile of issue: the
 * CSR's signature must verify and use neither MD5 nor SHA-1, its key must be
 * strong enough; its subject must meet certstore.conf's [policy] (match:
 * the CA's value, supplied: present, optional: may be; other fields are
 * dropped, as openssl does without -preserveDN); the subjectAltNames are the
 * CSR's DNS names and IP addresses, else its CN. The certificate is
 * recorded in the index and newcerts/ like any other. */
int certstore_sign(struct certstore *cs, const struct cs_sign_params *p, struct cs_signed *out,
    struct cs_warnings *warnings, struct cs_error *err);
void cs_signed_clear(struct cs_signed *s);

/* --- revocation and the CRL (revoke.c) ------------------------------------------------- */

/* What revoke accepts as a reason, as `openssl ca -crl_reason` spells them. */
#define CS_REVOKE_REASONS "unspecified, keyCompromise, CACompromise, affiliationChanged, " \
	"superseded, cessationOfOperation"

struct cs_revoke_params {
	const char *name;                   /* revoke name's current version, or */
	const char *serial;                 /* any certificate of the index (hex) */
	const char *reason;                 /* NULL: none recorded */
	const char *passphrase;             /* of the CA key: the CRL is signed again */
	time_t now;
};

struct cs_revocation {
	char serial[CS_SERIAL_HEX_MAX + 1];
	char subject[CS_TEXT_MAX];          /* as the index has it: "/CN=mail.example.com" */
	char reason[32];                    /* "" when none */
	time_t when;
};

/* The CRL: ca/crl.pem, signed by the signing CA, for what it issued. */
struct cs_crl_info {
	bool exists;
	char path[CS_PATH_MAX];
	char number[CS_SERIAL_HEX_MAX + 1]; /* its cRLNumber, hex */
	time_t last_update, next_update;
	time_t due_at;                      /* two thirds of its validity */
	size_t n_revoked;                   /* entries in it */
	size_t n_index_revoked;             /* R lines of the index */
	bool stale;                         /* the index has a revocation it lacks */
	bool due;                           /* past due_at, stale, or missing while the
	                                       index has revocations */
};

/* Marks the certificate revoked in the index (R, the date, the reason), then
 * makes a new CRL. The CA key is loaded first, so a wrong passphrase
 * changes nothing. Refused: a serial not in the index, one already revoked,
 * a name whose certificate another CA issued. crl (may be NULL) gets the new
 * CRL. */
int certstore_revoke(struct certstore *cs, const struct cs_revoke_params *p,
    struct cs_revocation *out, struct cs_crl_info *crl, struct cs_error *err);

/* Makes ca/crl.pem anew: every R line of the index, with its date and
 * reason; nextUpdate now + certstore.conf crl_days; the next cRLNumber
 * (crlnumber is written first, so a number is never used twice); AKI. */
int certstore_crl(struct certstore *cs, const char *passphrase, time_t now,
    struct cs_crl_info *out, struct cs_error *err);
/* What ca/crl.pem says and whether it is due; exists false when there is none. */
int certstore_crl_info(struct certstore *cs, time_t now, struct cs_crl_info *out,
    struct cs_error *err);

/* --- checking the whole store, for monitoring (check.c) ---------------------------------- */

enum cs_check_state { CS_CHECK_OK, CS_CHECK_WARNING, CS_CHECK_CRITICAL, CS_CHECK_UNKNOWN };
const char *cs_check_state_name(enum cs_check_state s);   /* "OK", "WARNING", ... */

struct cs_check_item {
	enum cs_check_state state;
	char what[CS_NAME_MAX + 1];         /* a name, "ca", "root" or "crl" */
	char problem[CS_TEXT_MAX * 2];      /* "expires 2030-01-20 (in 19 days)" */
};

struct cs_check {
	enum cs_check_state state;          /* the worst of the items; OK when none */
	unsigned n_certs;
	struct cs_check_item *items;        /* critical first */
	size_t n_items;
	char next_name[CS_NAME_MAX + 1];    /* the leaf that expires first, "" when none */
	time_t next_expiry;
};

/* Everything that can stop a handshake or a client's check, judged at now:
 * every current leaf (expired, expiring within crit_s or warn_s seconds,
 * revoked, failing validation: key mismatch, incomplete chain, unreadable
 * files), the intermediates it sends, the signing CA and the root, and the
 * CRL (past its nextUpdate: critical; within crit_s of it: critical; due:
 * warning; missing a revocation: warning). -1 with err only when the store
 * cannot be read at all. Clear with cs_check_clear. */
int certstore_check(struct certstore *cs, long warn_s, long crit_s, time_t now,
    struct cs_check *out, struct cs_error *err);
void cs_check_clear(struct cs_check *c);

/* --- exports for other daemons (export.c) ---------------------------------------------- */

enum cs_export_format {
	CS_EXPORT_POSTFIX, CS_EXPORT_DOVECOT, CS_EXPORT_EXIM, CS_EXPORT_COURIER, CS_EXPORT_QMAIL,
	CS_EXPORT_SENDMAIL, CS_EXPORT_STUNNEL,
	CS_EXPORT_SEPARATE, CS_EXPORT_FULLCHAIN, CS_EXPORT_COMBINED, CS_EXPORT_PKCS12,
};
/* The names above in lower case; -1 with err listing them otherwise. */
int cs_export_format_parse(const char *text, enum cs_export_format *f, struct cs_error *err);
const char *cs_export_format_name(enum cs_export_format f);

#define CS_EXPORT_MAX_FILES   (CS_PEM_MAX_CERTS + 4)
#define CS_EXPORT_NAME_MAX    64

struct cs_export_file {
	char name[CS_EXPORT_NAME_MAX];      /* relative: "postfix.pem", "cacerts/1a2b3c4d.0" */
	unsigned mode;                      /* 0400, 0600 (a key is in it) or 0644 */
	bool hashed;                        /* "<hash>.0": the writer takes the next free
	                                       suffix when another certificate has it */
	char *data;
	size_t len;
};

struct cs_export {
	struct cs_export_file files[CS_EXPORT_MAX_FILES];
	size_t n;
	char hint[CS_TEXT_MAX];             /* how to point the daemon at them */
	char kept[CS_PATH_MAX];             /* the copy kept in the version's directory */
};

/* The files that format wants for name's version (0: current), after
 * validating it as certstore_load does (an invalid or expired version is
 * refused). qmail refuses a non-RSA key; pkcs12 is encrypted with
 * p12_passphrase (AES-256; NULL: not encrypted). The first export of a
 * format is kept in the version's directory (out->kept: export/FORMAT/),
 * written atomically; later ones give the same bytes, and a PKCS#12 kept
 * with another passphrase is refused. The caller writes the files where
 * the operator said (certwrapctl, atomically). Clear with cs_export_clear
 * (it wipes key material). */
int certstore_export(struct certstore *cs, const char *name, unsigned version,
    enum cs_export_format f, const char *p12_passphrase, time_t now, struct cs_export *out,
    struct cs_error *err);
/* The store's CA certificates for clients: root.pem and, when an
 * intermediate signs, chain.pem; hashed: one "<subject hash>.0" file per
 * certificate, as `openssl rehash` names them (sendmail's CACERT_PATH). */
int certstore_export_ca(struct certstore *cs, bool hashed, struct cs_export *out,
    struct cs_error *err);
void cs_export_clear(struct cs_export *e);

/* --- taking over an `openssl ca` directory (ca_import.c) -------------------------------- */

struct cs_ca_import_params {
	const char *from;                   /* cacert.pem, private/cakey.pem, serial,
	                                       index.txt, newcerts/ (crlnumber optional) */
	const char *config;                 /* its openssl.cnf for the policy and defaults;
	                                       NULL: FROM/openssl.cnf when there is one */
	const char *passphrase;             /* of private/cakey.pem; the store keeps the key
	                                       encrypted with it (AES-256) */
	time_t now;
};

struct cs_ca_import_result {
	char subject[CS_TEXT_MAX];
	char next_serial[CS_SERIAL_HEX_MAX + 1];
	unsigned n_issued, n_revoked;       /* lines of the index taken over */
	size_t n_policy;                    /* policy lines taken from the config */
	bool encrypted;
};

/* Makes a store in dir (as certstore_ca_init: no ca/ yet) from an existing
 * `openssl ca` directory, which is only read. The CA must be a root (a
 * self-signed CA:TRUE certificate), valid now, with a key that matches and
 * is strong enough; the index must parse. index.txt, serial, crlnumber and
 * newcerts/ are copied; certstore.conf gets the config's policy_match,
 * default_days and default_crl_days, and `serials = sequential`: the serials
 * the store issues then continue from the serial file, as `openssl ca`
 * would, so the numbering and newcerts/SERIAL.pem go on unbroken. */
int certstore_ca_import(const char *dir, const struct cs_ca_import_params *p,
    struct cs_ca_import_result *out, struct cs_warnings *warnings, struct cs_error *err);

/* --- helpers shared with callers ------------------------------------------------- */

/* "CN=mail.example.com, O=Example" (RFC 2253 order reversed to read naturally). */
void cs_name_oneline(const X509_NAME *name, char *buf, size_t len);

/* Whole days from now until t (negative when t has passed), truncated toward
 * zero: less than a day either way is 0. */
long cs_days_until(time_t t, time_t now);

#endif
