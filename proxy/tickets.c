/* tickets.c: the process's session ticket key ring (see tickets.h). */
#include "proxy/tickets.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* The layout OpenSSL's own ticket keys have: a 16-byte name that says which
 * key sealed a ticket, AES-256-CBC, HMAC-SHA256. */
struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
};

static struct {
	pthread_mutex_t lock;
	struct ticket_key current, previous;
	bool have_current, have_previous;
} ring = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int
make_key(struct ticket_key *k)
{
	return RAND_bytes(k->name, sizeof(k->name)) == 1 &&
	    RAND_priv_bytes(k->aes, sizeof(k->aes)) == 1 &&
	    RAND_priv_bytes(k->hmac, sizeof(k->hmac)) == 1 ? 0 : -1;
}

int
tickets_init(void)
{
	struct ticket_key k;

	if (make_key(&k) == -1)
		return -1;
	pthread_mutex_lock(&ring.lock);
	ring.current = k;
	ring.have_current = true;
	ring.have_previous = false;
	pthread_mutex_unlock(&ring.lock);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

int
tickets_rotate(void)
{
	struct ticket_key k;

	if (make_key(&k) == -1)
		return -1;
	pthread_mutex_lock(&ring.lock);
	ring.previous = ring.current;
	ring.have_previous = ring.have_current;
	ring.current = k;
	ring.have_current = true;
	pthread_mutex_unlock(&ring.lock);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

void
tickets_wipe(void)
{
	pthread_mutex_lock(&ring.lock);
	OPENSSL_cleanse(&ring.current, sizeof(ring.current));
	OPENSSL_cleanse(&ring.previous, sizeof(ring.previous));
	ring.have_current = ring.have_previous = false;
	pthread_mutex_unlock(&ring.lock);
}

/* The key for a ticket's name: 1 the current one, 2 the previous one, 0
 * none (a full handshake). A copy, taken under the lock. */
static int
key_for(const unsigned char *name, struct ticket_key *out, bool encrypt)
{
	int found = 0;

	pthread_mutex_lock(&ring.lock);
	if (ring.have_current && (encrypt || memcmp(name, ring.current.name, 16) == 0)) {
		*out = ring.current;
		found = 1;
	} else if (!encrypt && ring.have_previous && memcmp(name, ring.previous.name, 16) == 0) {
		*out = ring.previous;
		found = 2;
	}
	pthread_mutex_unlock(&ring.lock);
	return found;
}

static int
ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
    EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt)
{
	struct ticket_key k;
	OSSL_PARAM params[3];
	int found, ok;

	(void)ssl;
	if ((found = key_for(key_name, &k, encrypt != 0)) == 0)
		return 0;                       /* no key yet, or an unknown or expired one */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (encrypt) {
		memcpy(key_name, k.name, 16);
		ok = RAND_bytes(iv, 16) == 1 &&
		    EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
	} else {
		ok = EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
	}
	ok = ok && EVP_MAC_CTX_set_params(mac, params) == 1;
	OPENSSL_cleanse(&k, sizeof(k));
	/* Decrypting: 2 asks for a new ticket on this connection, as OpenSSL's
	 * own keys do. With 1 a resumed TLS 1.3 connection gets none, and a
	 * client that keeps only its newest ticket falls back to a full
	 * handshake every other time. */
	return !ok ? -1 : encrypt ? 1 : 2;
}

void
tickets_attach(SSL_CTX *ctx)
{
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}
