/* keys.c: the key types a store makes, key generation, and keys as PEM text. Keys are written as PKCS#8 ("PRIVATE KEY"), the
 * form every mail daemon reads, and encrypted with AES-256 only when a
 * passphrase is given (CA keys). */
#include "certstore/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

static const struct {
	enum cs_key_type type;
	const char *name;                   /* canonical */
	const char *alias;                  /* also accepted, or NULL */
} key_types[] = {
	{ CS_KEY_RSA2048, "rsa:2048", "rsa" },
	{ CS_KEY_RSA3072, "rsa:3072", NULL },
	{ CS_KEY_RSA4096, "rsa:4096", NULL },
	{ CS_KEY_EC_P256, "ec:P-256", "ec" },
	{ CS_KEY_EC_P384, "ec:P-384", NULL },
	{ CS_KEY_ED25519, "ed25519", NULL },
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

int
cs_key_type_parse(const char *text, enum cs_key_type *type, struct cs_error *err)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++) {
		if (strcasecmp(text, key_types[i].name) == 0 ||
		    (key_types[i].alias != NULL && strcasecmp(text, key_types[i].alias) == 0)) {
			*type = key_types[i].type;
			return 0;
		}
	}
	cs_error_set(err, "key type \"%.64s\" is not one of rsa:2048, rsa:3072, rsa:4096, "
	    "ec:P-256, ec:P-384, ed25519", text);
	return -1;
}

const char *
cs_key_type_name(enum cs_key_type type)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "default";
}

EVP_PKEY *
cs_key_generate(enum cs_key_type type, struct cs_error *err)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case CS_KEY_RSA2048: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
	case CS_KEY_RSA3072: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072); break;
	case CS_KEY_RSA4096: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096); break;
	case CS_KEY_EC_P256: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
	case CS_KEY_EC_P384: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
	case CS_KEY_ED25519: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
	case CS_KEY_DEFAULT: break;
	}
	if (k == NULL)
		cs_error_set(err, "cannot generate a %s key: %s", cs_key_type_name(type),
		    cs_ossl_reason("OpenSSL refused"));
	return k;
}

/* The curve of an EC key, "" when unknown. */
static void
ec_curve(EVP_PKEY *key, char *buf, size_t len)
{
	size_t got = 0;

	buf[0] = '\0';
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, buf, len, &got) != 1)
		buf[0] = '\0';
}

enum cs_key_type
cs_key_type_of(EVP_PKEY *key)
{
	char curve[64];

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(key)) {
		case 2048: return CS_KEY_RSA2048;
		case 3072: return CS_KEY_RSA3072;
		case 4096: return CS_KEY_RSA4096;
		default: return CS_KEY_DEFAULT;
		}
	case EVP_PKEY_EC:
		ec_curve(key, curve, sizeof(curve));
		if (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0)
			return CS_KEY_EC_P256;
		if (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0)
			return CS_KEY_EC_P384;
		return CS_KEY_DEFAULT;
	case EVP_PKEY_ED25519:
		return CS_KEY_ED25519;
	default:
		return CS_KEY_DEFAULT;
	}
}

void
cs_key_describe(EVP_PKEY *key, char *buf, size_t len)
{
	char curve[64];

	switch (key != NULL ? EVP_PKEY_get_base_id(key) : NID_undef) {
	case EVP_PKEY_RSA:
		snprintf(buf, len, "RSA %d bits", EVP_PKEY_get_bits(key));
		break;
	case EVP_PKEY_EC:
		ec_curve(key, curve, sizeof(curve));
		snprintf(buf, len, "EC %s", strcmp(curve, "prime256v1") == 0 ? "P-256" :
		    strcmp(curve, "secp384r1") == 0 ? "P-384" :
		    strcmp(curve, "secp521r1") == 0 ? "P-521" : curve);
		break;
	case EVP_PKEY_ED25519:
		snprintf(buf, len, "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(buf, len, "Ed448");
		break;
	default:
		snprintf(buf, len, "%s", key != NULL ? OBJ_nid2sn(EVP_PKEY_get_base_id(key)) :
		    "none");
	}
}

/* The content of a memory BIO as a malloc'ed string; wipes nothing itself:
 * a key's BIO is a secure-memory one. */
static char *
bio_copy(BIO *b, size_t *len)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

char *
cs_key_pem(EVP_PKEY *key, const char *passphrase, size_t *len, struct cs_error *err)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *s = NULL;
	const EVP_CIPHER *cipher = passphrase != NULL ? EVP_aes_256_cbc() : NULL;

	if (b != NULL && PEM_write_bio_PrivateKey(b, key, cipher, (const unsigned char *)passphrase,
	    passphrase != NULL ? (int)strlen(passphrase) : 0, NULL, NULL) == 1)
		s = bio_copy(b, len);
	if (s == NULL)
		cs_error_set(err, "cannot encode the private key: %s",
		    cs_ossl_reason("out of memory"));
	BIO_free(b);
	return s;
}

EVP_PKEY *
cs_key_load(const char *path, const char *passphrase, struct cs_error *err)
{
	size_t len;
	char *pem = cs_fsio_read_key(path, &len, err);
	EVP_PKEY *key;

	if (pem == NULL)
		return NULL;
	key = cs_pem_parse_key(pem, len, path, passphrase, err);
	cs_pem_buf_free(pem, len);
	return key;
}
