/* client.h: certwrapctl's side of the control socket: one request, one
 * bounded response, within a deadline. */
#ifndef CERTWRAP_CTL_CLIENT_H
#define CERTWRAP_CTL_CLIENT_H

#include <stddef.h>

#include "ctl/ctlproto.h"

#define CTL_DEFAULT_SOCKET     "/run/certwrap/certwrapd.sock"
#define CTL_SOCKET_ENV         "CERTWRAP_SOCKET"
/* issuing or renewing with an RSA 4096 key takes a while on a slow machine */
#define CTL_CLIENT_TIMEOUT_S   120

/* Sends req to the daemon at socket_path and reads its response into resp
 * (release with ctl_msg_free). 0, or -1 with err in an operator's words:
 * no daemon there, permission denied and who may, timed out, bad response. */
int ctl_client_call(const char *socket_path, const struct ctl_msg *req, struct ctl_msg *resp,
    char *err, size_t errlen);

#endif
