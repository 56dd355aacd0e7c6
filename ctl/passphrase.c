/* passphrase.c: the CA key's passphrase, from a file (--passphrase-file) or
 * asked on the terminal (--passphrase-prompt), never from the command line
 * where every user's ps would show it. Buffers holding it are wiped. */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define TTY_PATH "/dev/tty"

void
passphrase_free(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

/* The first line of what fd gives, without its line end. */
static char *
read_line(int fd, const char *from, struct ctl *c)
{
	char buf[CTL_PASSPHRASE_MAX + 2];
	size_t len = 0;
	ssize_t n;
	char *p;

	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	p = NULL;
	if (len > CTL_PASSPHRASE_MAX)
		ctl_fail(c, "%s: the passphrase is longer than %d bytes", from, CTL_PASSPHRASE_MAX);
	else if (len == 0)
		ctl_fail(c, "%s: the passphrase is empty", from);
	else if ((p = strdup(buf)) == NULL)
		ctl_fail(c, "out of memory");
	OPENSSL_cleanse(buf, sizeof(buf));
	return p;
}

static char *
from_file(struct ctl *c, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char *p;

	if (fd == -1) {
		ctl_fail(c, "%s: cannot open the passphrase file: %s", path, strerror(errno));
		return NULL;
	}
	p = read_line(fd, path, c);
	close(fd);
	return p;
}

/* One answer from the terminal, echo off. Echo goes off before the prompt
 * is shown, so that an answer typed as soon as the prompt appears is
 * neither echoed nor flushed away. */
static char *
ask(struct ctl *c, int tty, const char *prompt)
{
	struct termios old, quiet;
	bool restore = tcgetattr(tty, &old) == 0;
	char *p = NULL;

	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(tty, TCSAFLUSH, &quiet);
	}
	if (write(tty, prompt, strlen(prompt)) >= 0)
		p = read_line(tty, "--passphrase-prompt", c);
	if (restore)
		tcsetattr(tty, TCSANOW, &old);
	return p;
}

static char *
from_prompt(struct ctl *c, bool confirm)
{
	int tty = open(TTY_PATH, O_RDWR | O_CLOEXEC | O_NOCTTY);
	char *p = NULL, *again = NULL;

	if (tty == -1) {
		ctl_fail(c, "--passphrase-prompt: no terminal to ask on (%s: %s): use "
		    "--passphrase-file FILE", TTY_PATH, strerror(errno));
		return NULL;
	}
	p = ask(c, tty, "CA key passphrase: ");
	if (p != NULL && confirm) {
		again = ask(c, tty, "CA key passphrase again: ");
		if (again == NULL || strcmp(p, again) != 0) {
			if (again != NULL)
				ctl_fail(c, "--passphrase-prompt: the two passphrases differ: nothing "
				    "was changed");
			passphrase_free(p);
			p = NULL;
		}
	}
	passphrase_free(again);
	close(tty);
	return p;
}

int
passphrase_get(struct ctl *c, const struct args *a, bool confirm, char **out)
{
	const char *file = args_value(a, "--passphrase-file");
	bool prompt = args_flag(a, "--passphrase-prompt");

	*out = NULL;
	if (file != NULL && prompt)
		return ctl_usage_error(c, "give --passphrase-file or --passphrase-prompt, not both");
	if (file == NULL && !prompt)
		return CTL_OK;
	*out = file != NULL ? from_file(c, file) : from_prompt(c, confirm);
	return *out != NULL ? CTL_OK : CTL_FAILED;
}
