/* listener.c: bind, listen, accept. */
#include "proxy/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/acceptor.h"
#include "proxy/limits.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"

struct listener *
listener_open(const struct addr *addr, char *err, size_t errlen)
{
	struct listener *l = calloc(1, sizeof(*l));
	int one = 1, fd;

	if (l == NULL) {
		snprintf(err, errlen, "%s: out of memory", addr->label);
		return NULL;
	}
	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* IPV6_V6ONLY: `accept = :::993` and `accept = 993` may coexist */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (addr->ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	l->fd = fd;
	l->addr = *addr;
	return l;
fail:
	snprintf(err, errlen, "%s: %s%s", addr->label, strerror(errno),
	    errno == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" :
	    errno == EADDRINUSE ? " (another program, or another service here, listens there)" : "");
	if (fd != -1)
		close(fd);
	free(l);
	return NULL;
}

/* Errors that concern one pending connection, not the listener. */
static bool
accept_error_is_transient(int e)
{
	return e == ECONNABORTED || e == EPROTO || e == EPERM || e == ENETDOWN ||
	    e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH ||
	    e == EOPNOTSUPP || e == ENETUNREACH || e == EINTR;
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = io->data;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (!acceptor_may_accept(l->acceptor, l))
			return;
		fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (accept_error_is_transient(errno))
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_errno(LOG_LVL_WARN, "%s: accept paused for %.1fs on %s",
				    l->snap->services[l->svc_index].conf->name, ACCEPT_PAUSE_S,
				    l->addr.label);
				acceptor_pause(l->acceptor);
				return;
			}
			log_errno(LOG_LVL_ERROR, "%s: accept on %s",
			    l->snap->services[l->svc_index].conf->name, l->addr.label);
			return;
		}
		acceptor_hand_over(l->acceptor, l, fd, (struct sockaddr *)&peer, len);
	}
}

void
listener_start(struct listener *l, struct acceptor *a)
{
	l->acceptor = a;
	ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_io_start(a->loop, &l->io);
}

void
listener_stop(struct listener *l)
{
	if (l->acceptor != NULL)
		ev_io_stop(l->acceptor->loop, &l->io);
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}
