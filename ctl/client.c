/* client.c: connect, send one request, read one bounded response. */
#include "ctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int
connect_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_CLIENT_TIMEOUT_S, 0 };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (at most %zu bytes)", path,
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == ENOENT)
		snprintf(err, errlen, "%s: no such socket: is certwrapd running with control = %s? "
		    "(or give the socket with -s)", path, path);
	else if (errno == ECONNREFUSED)
		snprintf(err, errlen, "%s: nobody answers: certwrapd is not running", path);
	else if (errno == EACCES)
		snprintf(err, errlen, "%s: permission denied: run as root, as certwrapd's user, or "
		    "as a member of its controlGroup", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

static int
send_all(int fd, const char *buf, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "sending the request: %s", errno == EAGAIN ?
			    "timed out" : strerror(errno));
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_response(int fd, struct ctl_msg *resp, char *err, size_t errlen)
{
	size_t len = 0, cap = 0, used;
	char *buf = NULL, why[256];

	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			char *more = cap < CTLPROTO_MAX_FRAME + CTLPROTO_MAX_HEADER
			    ? realloc(buf, cap + 65536) : NULL;

			if (more == NULL) {
				snprintf(err, errlen, "response too large");
				break;
			}
			buf = more;
			cap += 65536;
		}
		if ((n = recv(fd, buf + len, cap - len, 0)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "reading the response: %s", n == 0 ?
			    "certwrapd closed the connection" : errno == EAGAIN ? "timed out" :
			    strerror(errno));
			break;
		}
		len += (size_t)n;
		switch (ctl_msg_decode(buf, len, resp, &used, why, sizeof(why))) {
		case CTL_DECODE_MORE:
			continue;
		case CTL_DECODE_ERROR:
			snprintf(err, errlen, "bad response from certwrapd: %s", why);
			free(buf);
			return -1;
		case CTL_DECODE_DONE:
			free(buf);
			return 0;
		}
	}
	free(buf);
	return -1;
}

int
ctl_client_call(const char *socket_path, const struct ctl_msg *req, struct ctl_msg *resp,
    char *err, size_t errlen)
{
	char *frame, why[256];
	size_t len;
	int fd, rc;

	memset(resp, 0, sizeof(*resp));
	if (ctl_msg_encode(req, &frame, &len) == -1) {
		snprintf(err, errlen, "the request is too large (over %u bytes)", CTLPROTO_MAX_FRAME);
		return -1;
	}
	if ((fd = connect_socket(socket_path, err, errlen)) == -1) {
		free(frame);
		return -1;
	}
	rc = send_all(fd, frame, len, err, errlen);
	free(frame);
	/* A refusal is sent without reading the request, so sending may fail:
	 * the response, which says why, is worth more than the send error. */
	if (read_response(fd, resp, rc == 0 ? err : why, rc == 0 ? errlen : sizeof(why)) == 0)
		rc = 0;
	else
		rc = -1;
	close(fd);
	return rc;
}
