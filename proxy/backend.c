/* backend.c: non-blocking connect with failover across targets. */
#include "proxy/backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"

static void try_targets(struct conn *c);

static void
attempt_failed(struct conn *c, const char *why)
{
	const struct service *svc = c->svc;

	if (c->backend.fd != -1) {
		conn_io_want(c, &c->backend, 0);
		close(c->backend.fd);
		c->backend.fd = -1;
	}
	if (c->target + 1 < svc->n_targets)
		log_warn("%s: backend %s: %s; trying %s", svc->conf->name,
		    svc->targets[c->target].label, why, svc->targets[c->target + 1].label);
	else
		log_error("%s: backend %s: %s; no backend left to try (%u tried)",
		    svc->conf->name, svc->targets[c->target].label, why, svc->n_targets);
	conn_set_detail(c, "%s: %s", svc->targets[c->target].label, why);
	c->target++;
	try_targets(c);
}

static void
connected(struct conn *c)
{
	conn_set_nodelay(c->backend.fd);
	c->end_detail[0] = '\0';           /* earlier failed attempts were logged */
	ev_io_set(&c->backend.io, c->backend.fd, 0);
	conn_backend_connected(c);
}

/* Starts connecting to targets from c->target on, until one is in progress
 * or connected; closes c when none is left. */
static void
try_targets(struct conn *c)
{
	const struct addr *a;
	int fd;

	if (c->target >= c->svc->n_targets) {
		conn_backend_unreachable(c);
		return;
	}
	a = &c->svc->targets[c->target];
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		attempt_failed(c, strerror(errno));
		return;
	}
	c->backend.fd = fd;
	ev_io_set(&c->backend.io, fd, 0);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		connected(c);
		return;
	}
	if (errno != EINPROGRESS) {
		attempt_failed(c, strerror(errno));
		return;
	}
	conn_io_want(c, &c->backend, EV_WRITE);
	conn_touch(c);
	conn_timer_update(c);
}

void
backend_connect_start(struct conn *c)
{
	c->target = 0;
	conn_touch(c);
	try_targets(c);
}

void
backend_connect_event(struct conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->backend.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == EINPROGRESS)
		return;
	if (soerr != 0) {
		attempt_failed(c, strerror(soerr));
		return;
	}
	conn_io_want(c, &c->backend, 0);
	connected(c);
}

void
backend_connect_timeout(struct conn *c)
{
	char why[64];

	snprintf(why, sizeof(why), "no answer within TIMEOUTconnect = %us",
	    c->svc->conf->timeout_connect_s);
	attempt_failed(c, why);
}
