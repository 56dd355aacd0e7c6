/* teststore.h: stores for unit tests, made in testpki's temporary directory
 * at TP_NOW with EC keys (fast). Linked into every unit test.
 *
 * What ts_* returns is owned here and freed by ts_cleanup() (call it before
 * tp_cleanup(), from the group teardown); a failure to build aborts the test. */
#ifndef CERTWRAP_TESTSTORE_H
#define CERTWRAP_TESTSTORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "certstore/certstore.h"

/* A new store in tp_path(dir) made with p (NULL: a root CA, the defaults,
 * at TP_NOW), opened. */
struct certstore *ts_store(const char *dir, const struct cs_ca_params *p);
/* Opens tp_path(dir) again (after its certstore.conf changed). */
struct certstore *ts_open(const char *dir);
/* Issues name for the DNS names given (NULL-terminated) at now, asserting success. */
void ts_issue(struct certstore *cs, const char *name, time_t now, const char *dns, ...);
/* Renews name at now, asserting success; returns the new version. */
unsigned ts_renew(struct certstore *cs, const char *name, time_t now, bool reuse_key);
/* The first certificate of a PEM file. */
X509 *ts_cert(const char *path);
/* A file's content (NULL-terminated text) and mode. */
const char *ts_read(const char *path);
mode_t ts_mode(const char *path);
/* certs/NAME/VERSION/FILE of the store. */
const char *ts_file(struct certstore *cs, const char *name, unsigned version, const char *file);

void ts_cleanup(void);

#endif
