/* internal.h: shared by the certstore's .c files only; callers use certstore.h. */
#ifndef CERTWRAP_CERTSTORE_INTERNAL_H
#define CERTWRAP_CERTSTORE_INTERNAL_H

#include "certstore/certstore.h"

#include <sys/types.h>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

/* Writes the message (printf format) into err; NULL err is a no-op. */
void cs_error_set(struct cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a warning (printf format); NULL w is a no-op. When the list is full
 * the last slot says that more were left out. */
void cs_warn(struct cs_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The reason of the newest error in OpenSSL's queue ("bad base64 decode"),
 * or fallback when the queue is empty. Leaves the queue alone. */
const char *cs_ossl_reason(const char *fallback);

/* An ASN1_TIME as a time_t. -1 when t is NULL or malformed. */
int cs_time_from_asn1(const ASN1_TIME *t, time_t *out);

/* "2030-01-01 00:00 UTC" (with_time) or "2030-01-01". */
void cs_time_format(time_t t, bool with_time, char *buf, size_t len);

/* "(in 10 days)", "(3 days ago)", "(less than a day ago)": how far t is from now. */
void cs_time_distance(time_t t, time_t now, char *buf, size_t len);


/* cs_keycert_validate with more trust anchors (borrowed; NULL: none): roots
 * that came with a request rather than from a file. */
struct cs_keycert *cs_keycert_validate_anchors(STACK_OF(X509) *certs, const char *cert_name,
    EVP_PKEY *key, const char *key_name, const struct cs_trust *trust,
    STACK_OF(X509) *anchors, time_t now, struct cs_warnings *warnings, struct cs_error *err);

/* The least bits a key of pub's kind must have (0: any), and its family
 * ("RSA", "DSA", "EC"). */
int cs_key_min_bits(EVP_PKEY *pub, const char **alg);
/* "MD5", "SHA-1"...: a digest clients refuse signatures with; NULL if fine. */
const char *cs_weak_digest(int md_nid);

/* --- export_keep.c --------------------------------------------------------------------------
 * Keeps e, name's version's export as f, in certs/NAME/VERSION/export/FORMAT/
 * (e->kept) unless it is there already; a kept PKCS#12 replaces e's, when
 * p12_passphrase opens it (else -1). */
int cs_export_keep(struct certstore *cs, const char *name, unsigned version,
    enum cs_export_format f, const char *p12_passphrase, struct cs_export *e,
    struct cs_error *err);

/* --- fsio.c: the one way the store writes ---------------------------------------------
 * Every function names the file in err ("PATH: why"). Temporary names start
 * with CS_TMP_PREFIX and live in the target's directory. */
#define CS_TMP_PREFIX        ".tmp-"
#define CS_FILE_MAX_BYTES    (16 * 1024 * 1024)   /* index.txt and friends */

/* Formats a path into buf (CS_PATH_MAX); -1 with err when it does not fit. */
int cs_path(char *buf, struct cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Replaces path with data: temp file (O_EXCL, mode), write, fsync, rename,
 * fsync of the directory. The old file stays whole until the rename. */
int cs_fsio_write(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err);
/* Creates path with data, failing if it exists: for files in a directory that
 * is not visible yet (a version under construction) and for newcerts/. */
int cs_fsio_create(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err);
/* Creates path with data, failing if it exists, through a temporary file
 * and a no-replace rename: a crash never leaves it half-written. */
int cs_fsio_write_new(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err);
/* rename() that refuses to replace an existing entry (RENAME_NOREPLACE), then
 * fsync of the target's directory (and the source's when it differs). */
int cs_fsio_rename_new(const char *from, const char *to, struct cs_error *err);
/* Swaps a and b (RENAME_EXCHANGE, both in one directory), then fsync of it:
 * replaces a directory at once, where rename() cannot. */
int cs_fsio_exchange(const char *a, const char *b, struct cs_error *err);
/* Points linkpath at target: a temporary symlink renamed over linkpath. */
int cs_fsio_symlink(const char *target, const char *linkpath, struct cs_error *err);
int cs_fsio_sync_dir(const char *dir, struct cs_error *err);
/* mkdir(path, mode) and fsync of its parent; an existing directory is fine. */
int cs_fsio_mkdir(const char *path, mode_t mode, struct cs_error *err);
/* A new directory parent/.tmp-TAG-XXXXXX; its path in out (CS_PATH_MAX). */
int cs_fsio_mkdtemp(const char *parent, const char *tag, char *out, struct cs_error *err);
/* Removes path and everything under it (no symlink is followed). */
int cs_fsio_remove_tree(const char *path, struct cs_error *err);
/* Removes every CS_TMP_PREFIX entry of dir: only under the store's lock. */
int cs_fsio_sweep(const char *dir, struct cs_error *err);
/* Reads a whole regular file of at most max bytes, NUL-terminated; free()
 * it (for keys: cs_pem_buf_free). *errno_out (may be NULL) gets open()'s
 * errno, so that callers can tell a missing file (ENOENT) from a bad one. */
char *cs_fsio_read(const char *path, size_t max, size_t *len, int *errno_out,
    struct cs_error *err);
/* Reads a private key file, refusing one its group or others may access:
 * "PATH: the private key may be read by its group (mode 0640): chmod 600 PATH". */
char *cs_fsio_read_key(const char *path, size_t *len, struct cs_error *err);

/* --- conf.c: certstore.conf -------------------------------------------------------- */
#define CS_CONF_FILE         "certstore.conf"
#define CS_CONF_MAX_BYTES    (64 * 1024)
#define CS_CONF_LINE_MAX     1024
#define CS_POLICY_MAX        16

enum cs_policy_mode { CS_POLICY_OPTIONAL, CS_POLICY_SUPPLIED, CS_POLICY_MATCH };

struct cs_policy_rule {
	int nid;                            /* NID_countryName, ... */
	enum cs_policy_mode mode;
};

struct cs_conf {
	enum cs_key_type key_type;          /* never CS_KEY_DEFAULT */
	unsigned days, crl_days;
	struct cs_policy_rule policy[CS_POLICY_MAX];
	size_t n_policy;
	char *hook_command;                 /* NULL: no hook */
	unsigned hook_timeout_s;
	bool sequential_serials;            /* [defaults] serials = sequential (ca import) */
};

void cs_conf_defaults(struct cs_conf *c);
/* Parses text (len bytes, NUL bytes refused) into c. On failure c holds the
 * defaults and err "FILE:LINE: key: why" for the first error, with
 * "(and N more errors)" when there are more. */
int cs_conf_parse(const char *file, const char *text, size_t len, struct cs_conf *c,
    struct cs_error *err);
/* Reads path; a missing file gives the defaults. */
int cs_conf_load(const char *path, struct cs_conf *c, struct cs_error *err);
void cs_conf_free(struct cs_conf *c);
/* The commented file ca init writes, with the defaults. */
extern const char cs_conf_default_text[];

/* --- meta.c: a version's metadata --------------------------------------------------- */
#define CS_META_FILE         "meta"
#define CS_META_FORMAT       1
#define CS_META_MAX_BYTES    (64 * 1024)

struct cs_meta {
	char name[CS_NAME_MAX + 1];
	unsigned version, previous;
	char serial[CS_SERIAL_HEX_MAX + 1];
	enum cs_event origin;               /* issue or renew */
	time_t created;
	enum cs_key_type key_type;
	unsigned days;                      /* the lifetime asked for */
	unsigned lifetime_s;                /* in seconds, when not whole days; 0: days */
	bool client, reused_key;
	char **dns, **ip;                   /* NULL-terminated, or NULL */
	size_t n_dns, n_ip;
};

int cs_meta_parse(const char *file, const char *text, size_t len, struct cs_meta *m,
    struct cs_error *err);
/* The file's text; malloc'ed, NUL-terminated. NULL on out of memory. */
char *cs_meta_format(const struct cs_meta *m);
void cs_meta_clear(struct cs_meta *m);

/* --- index.c: openssl ca's index.txt ------------------------------------------------- */
#define CS_INDEX_TIME_MAX    16       /* "YYYYMMDDHHMMSSZ" */
#define CS_INDEX_LINE_MAX    8192

struct cs_index_entry {
	char status;                        /* 'V' valid, 'R' revoked, 'E' expired */
	char expiry[CS_INDEX_TIME_MAX];     /* notAfter as openssl writes it: UTCTime text */
	char revoked[64];                   /* "YYMMDDHHMMSSZ" or "...Z,reason", or "" */
	char serial[CS_SERIAL_HEX_MAX + 1]; /* upper case, even length */
	char *file;                         /* "unknown" */
	char *subject;                      /* "/CN=mail.example.com" */
};

struct cs_index {
	struct cs_index_entry *e;
	size_t n, cap;
};

/* Parses openssl's six tab-separated fields per line. Refuses (with
 * FILE:LINE) a wrong field count, an unknown status, a bad date or serial,
 * a V line with a revocation date, an R line without one, a serial listed
 * twice. An empty text is an empty index. */
int cs_index_parse(const char *file, const char *text, size_t len, struct cs_index *idx,
    struct cs_error *err);
int cs_index_load(const char *path, struct cs_index *idx, struct cs_error *err);
/* The text openssl would write; malloc'ed. NULL on out of memory. */
char *cs_index_format(const struct cs_index *idx, size_t *len);
int cs_index_save(const char *path, const struct cs_index *idx, struct cs_error *err);
/* serial: hex in any case and length; NULL when absent. */
const struct cs_index_entry *cs_index_find(const struct cs_index *idx, const char *serial);
/* Appends a V entry for x. */
int cs_index_add(struct cs_index *idx, X509 *x, struct cs_error *err);
void cs_index_free(struct cs_index *idx);
/* serial as openssl spells it in the index and newcerts/: upper-case hex of
 * even length ("0A", "5F3A01"). -1 when it does not fit CS_SERIAL_HEX_MAX. */
int cs_serial_hex(const ASN1_INTEGER *serial, char *out, size_t len);
/* Normalizes hex text (any case, odd length) to that spelling; -1 if not hex. */
int cs_serial_normalize(const char *text, size_t len, char *out, size_t outlen);

/* --- keys.c --------------------------------------------------------------------------- */
/* A new key of that type (not CS_KEY_DEFAULT). NULL with err. */
EVP_PKEY *cs_key_generate(enum cs_key_type type, struct cs_error *err);
/* The type of an existing key, CS_KEY_DEFAULT when it is none of ours. */
enum cs_key_type cs_key_type_of(EVP_PKEY *key);
/* PKCS#8 PEM, AES-256 encrypted when passphrase is not NULL. malloc'ed;
 * free with cs_pem_buf_free. */
char *cs_key_pem(EVP_PKEY *key, const char *passphrase, size_t *len, struct cs_error *err);
/* "EC P-256", "RSA 2048 bits", "Ed25519". */
void cs_key_describe(EVP_PKEY *key, char *buf, size_t len);
/* Reads a key file through cs_fsio_read_key and cs_pem_parse_key. */
EVP_PKEY *cs_key_load(const char *path, const char *passphrase, struct cs_error *err);

/* --- cert.c: building and encoding certificates ------------------------------------------ */
struct cs_cert_spec {
	X509_NAME *subject;
	X509 *issuer;                       /* NULL: self-signed */
	EVP_PKEY *pubkey;
	ASN1_INTEGER *serial;
	time_t not_before, not_after;
};
/* A v3 certificate with those fields and no extension yet. */
X509 *cs_cert_new(const struct cs_cert_spec *spec, struct cs_error *err);
/* Adds an extension in openssl.cnf syntax ("critical,CA:TRUE"); the issuer
 * (or x itself) for keyid references. */
int cs_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value, struct cs_error *err);
/* Signs with the CA key's digest (cs_ca_digest). */
int cs_cert_sign(X509 *x, EVP_PKEY *key, struct cs_error *err);
/* A certificate's PEM text, malloc'ed, or a whole stack's from index from. */
char *cs_cert_pem(X509 *x, size_t *len);
char *cs_certs_pem(STACK_OF(X509) *certs, int from, size_t *len);
/* Every certificate of a PEM file, in order. With empty_ok an empty (or
 * blank) file gives an empty stack (a chain.pem when a root signs). */
STACK_OF(X509) *cs_cert_load_all(const char *path, bool empty_ok, struct cs_error *err);

/* --- names.c ---------------------------------------------------------------------------- */
/* "/O=Example/CN=Example CA" (openssl req -subj) to a name; backslash
 * escapes '/', '=' and itself. what labels messages ("--subject"). */
X509_NAME *cs_name_parse(const char *text, const char *what, struct cs_error *err);
/* As `openssl x509 -subject` prints it: "O = Example, CN = Example CA". */
void cs_name_openssl(const X509_NAME *name, char *buf, size_t len);
/* Whether name is a valid certificate name in the store. */
bool cs_name_is_valid(const char *name);

/* --- san.c: the names a certificate is for ----------------------------------------------- */
/* Checks and canonicalizes (lower case DNS, inet_ntop form IP) into a
 * NULL-terminated malloc'ed array without duplicates. */
int cs_san_dns_check(const char *const *in, size_t n, char ***out, size_t *n_out,
    struct cs_error *err);
int cs_san_ip_check(const char *const *in, size_t n, char ***out, size_t *n_out,
    struct cs_error *err);
/* The subjectAltName value for those names (checked ones). NULL on out of memory. */
GENERAL_NAMES *cs_san_names(char *const *dns, size_t n_dns, char *const *ip, size_t n_ip);
/* A certificate's SANs as "DNS:x" / "IP:y" strings, NULL-terminated. */
int cs_san_list(X509 *x, char ***out, size_t *n, struct cs_error *err);
char **cs_strv_dup(char *const *v, size_t n);

/* --- ca.c: the signing CA ----------------------------------------------------------------- */
struct cs_ca {
	X509 *cert;                         /* the signing CA */
	EVP_PKEY *key;
	STACK_OF(X509) *chain;              /* sent after a leaf: cert and any higher
	                                       intermediate, not the root */
};
/* Loads the signing CA; refuses an expired one, a key that does not match. */
int cs_ca_load(struct certstore *cs, const char *passphrase, time_t now, struct cs_ca *ca,
    struct cs_error *err);
void cs_ca_free(struct cs_ca *ca);
/* A random serial: positive, CS_SERIAL_BYTES long; NULL when there is no randomness. */
ASN1_INTEGER *cs_ca_serial_random(void);
/* A serial for a new certificate: random, positive, CS_SERIAL_BYTES, not in
 * idx and not in newcerts/. Call under the lock. */
ASN1_INTEGER *cs_ca_serial_new(struct certstore *cs, const struct cs_index *idx,
    struct cs_error *err);
/* Records x as issued: newcerts/SERIAL.pem, index.txt, serial. Under the lock. */
int cs_ca_record(struct certstore *cs, struct cs_index *idx, X509 *x, struct cs_error *err);
/* The subject of a certificate for cn under the store's policy: CN plus the
 * CA's values of every `match` field. Refuses a `supplied` field other than CN. */
X509_NAME *cs_ca_policy_subject(struct certstore *cs, const struct cs_ca *ca, const char *cn,
    struct cs_error *err);
/* The signing digest for a CA key: NULL for EdDSA. */
const EVP_MD *cs_ca_digest(EVP_PKEY *ca_key);

/* --- issue.c --------------------------------------------------------------------------- */
/* The extensions of every server certificate the store signs (issue.c's
 * header comment): basicConstraints, keyUsage for key, extendedKeyUsage,
 * SKI, AKI of ca_cert, subjectAltName sans. */
int cs_leaf_extensions(X509 *x, X509 *ca_cert, EVP_PKEY *key, bool client, GENERAL_NAMES *sans,
    struct cs_error *err);

/* --- pem.c, csr.c --------------------------------------------------------------------------------- */
/* A CSR for key with subject and a SAN extension request. */
X509_REQ *cs_csr_make(EVP_PKEY *key, X509_NAME *subject, GENERAL_NAMES *sans,
    struct cs_error *err);
char *cs_csr_pem(X509_REQ *req, size_t *len);
/* The one CERTIFICATE REQUEST (or NEW CERTIFICATE REQUEST) of pem, bounded
 * as cs_pem_parse_certs; DER is refused with the command that converts it.
 * Its signature is not checked here. Fuzzed (tests/fuzz/fuzz_csr.c). */
X509_REQ *cs_pem_parse_csr(const char *pem, size_t len, const char *name, struct cs_error *err);

/* --- request.c: a request waiting for an outside CA ------------------------------------- */
/* The waiting request of name: its key and CSR (either may be NULL when not
 * wanted). 0, 1 when there is none, -1 with err when it cannot be read. */
int cs_request_load(struct certstore *cs, const char *name, EVP_PKEY **key, char **csr_pem,
    size_t *csr_len, struct cs_error *err);
/* Removes name's waiting request (renamed away first): under the lock. */
int cs_request_remove(struct certstore *cs, const char *name, struct cs_error *err);

/* --- store.c: the store's insides ------------------------------------------------------------ */
struct certstore {
	char *dir;
	struct cs_conf conf;
	int lock_fd;                        /* -1 when not locked */
};

/* Takes the store's lock (flock LOCK_EX on DIR/.lock), waiting up to
 * CS_LOCK_TIMEOUT_MS, then removes what a crashed writer left. */
int cs_store_lock(struct certstore *cs, struct cs_error *err);
void cs_store_unlock(struct certstore *cs);
/* DIR/SUB... into buf (CS_PATH_MAX). */
int cs_store_path(const struct certstore *cs, char *buf, struct cs_error *err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Fills paths for name's version. */
int cs_store_paths(const struct certstore *cs, const char *name, unsigned version,
    struct cs_paths *p, struct cs_error *err);
/* The highest version number in certs/NAME (0 when none). */
int cs_store_max_version(struct certstore *cs, const char *name, unsigned *max,
    struct cs_error *err);

/* A new version's content, written by cs_store_commit. */
struct cs_version_files {
	const char *key_pem, *cert_pem, *chain_pem, *fullchain_pem, *csr_pem, *meta_text;
	size_t key_len, cert_len, chain_len, fullchain_len, csr_len, meta_len;
	const char *root_pem;               /* CS_VERSION_ROOT, or NULL */
	size_t root_len;
};
/* Under the lock: writes the version and makes it current. A name's first
 * version appears with its current link in one rename of certs/NAME; a
 * later one is renamed to certs/NAME/VERSION, then current is switched. */
int cs_store_commit(struct certstore *cs, const char *name, unsigned version,
    const struct cs_version_files *f, struct cs_error *err);
/* Fills c for a version (whose leaf is leaf) that just became current. */
void cs_store_change(struct certstore *cs, struct cs_change *c, enum cs_event event,
    const char *name, unsigned version, unsigned previous, X509 *leaf);
/* When a certificate valid from not_before to not_after is due for renewal. */
time_t cs_renew_at(time_t not_before, time_t not_after);
/* Reads and parses a version's meta. */
int cs_store_meta(struct certstore *cs, const char *name, unsigned version, struct cs_meta *m,
    struct cs_error *err);
/* The trust anchors of the store: ca/root.pem. */
void cs_store_trust(const struct certstore *cs, struct cs_trust *t, char *root_path);
/* Those a version is validated with: the store's, or for a certificate
 * from an outside CA the system's and its root.pem (root_path, CS_PATH_MAX). */
#define CS_VERSION_ROOT      "root.pem"
void cs_version_trust(struct certstore *cs, const char *name, unsigned version,
    struct cs_trust *t, char *root_path);

#endif
