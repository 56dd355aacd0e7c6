/* fuzz_ctlproto.c: the control-socket decoder, on whatever a peer sends.
 * A decoded message must re-encode to a frame that decodes to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg m, again;
	char err[256], *frame;
	size_t used, len, used2;

	if (ctl_msg_decode((const char *)data, size, &m, &used, err, sizeof(err)) != CTL_DECODE_DONE)
		return 0;
	if (used > size || ctl_msg_encode(&m, &frame, &len) != 0)
		abort();
	if (ctl_msg_decode(frame, len, &again, &used2, err, sizeof(err)) != CTL_DECODE_DONE ||
	    used2 != len || again.n != m.n)
		abort();
	for (size_t i = 0; i < m.n; i++)
		if (strcmp(m.fields[i].name, again.fields[i].name) != 0 ||
		    m.fields[i].len != again.fields[i].len ||
		    memcmp(m.fields[i].value, again.fields[i].value, m.fields[i].len) != 0)
			abort();
	free(frame);
	ctl_msg_free(&m);
	ctl_msg_free(&again);
	return 0;
}
