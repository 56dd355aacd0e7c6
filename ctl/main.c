/* certwrapctl: the operator's tool. The certstore verbs and the control-socket
 * client come with the certstore (issue 3) and the daemon's control socket
 * (issue 4); until then it prints its usage and exits 2 for any verb. */
#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
	fputs("usage: certwrapctl [--store DIR | -s SOCKET] VERB [ARGS...]\n"
	    "\n"
	    "certwrapctl manages certwrap's certificate store and talks to a running\n"
	    "certwrapd. No verbs are available in this version yet.\n", out);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
