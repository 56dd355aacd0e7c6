/* backend_mailbox.c: the test backend's mailbox: DIR/inbox/NAME.eml or memory.
 *
 * The spool is re-read whenever a session looks (POP3 login, IMAP SELECT and
 * NOOP), so files that tests drop in or remove are seen. A file keeps its UID
 * while its name, size and mtime stay the same; new files get the next UID.
 * Should a new file sort before a known one (UIDs would no longer ascend in
 * mailbox order), the UIDs are renumbered under a new UIDVALIDITY, which is
 * what IMAP asks for. Delivered files are named by a counter (%08u.eml), so
 * they sort after everything already there. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "backend_mailbox.h"

#define SPOOL_PATH_MAX 4096
#define DELIVER_TRIES  1000               /* names tried before giving up */

const char mailbox_known_message[] =
    "From: Certwrap Sender <sender@example.test>\r\n"
    "To: Test User <test@example.test>\r\n"
    "Subject: certwrap test message\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <certwrap-test-message-1@example.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "This is the known message of the certwrap test backend.\r\n"
    "Tests compare it byte for byte after it has travelled through certwrapd.\r\n"
    "\r\n"
    ".A line that starts with a dot, to exercise dot-stuffing.\r\n"
    ".\r\n"
    "..Two dots, then a line with only a dot above.\r\n"
    "The end.\r\n";

struct mailbox {
	char *inbox;                      /* DIR/inbox; NULL for the in-memory mailbox */
	struct mailbox_entry *entries;    /* in name order, UIDs ascending */
	size_t count;
	unsigned uidvalidity;
	unsigned uidnext;
	unsigned next_seq;                /* number in the next delivered file's name */
	unsigned tmp_seq;
};

static void
message_unref(struct message *m)
{
	if (m != NULL && --m->refs == 0) {
		free(m->data);
		free(m);
	}
}

static struct message *
message_new(const char *name, const char *data, size_t len, const struct timespec *mtime)
{
	struct message *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->data = malloc(len + 1)) == NULL) {
		free(m);
		return NULL;
	}
	m->refs = 1;
	snprintf(m->name, sizeof(m->name), "%s", name);
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	m->len = len;
	m->mtime = mtime->tv_sec;
	m->mtime_ns = mtime->tv_nsec;
	return m;
}

/* Reads one spool file of st->st_size bytes. NULL if it cannot. */
static struct message *
message_load(const char *path, const char *name, const struct stat *st)
{
	struct message *m = NULL;
	char *data;
	ssize_t n = 0;
	size_t got = 0, len = (size_t)st->st_size;
	int fd;

	if (st->st_size > MESSAGE_MAX || (data = malloc(len + 1)) == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		while (got < len && (n = read(fd, data + got, len - got)) > 0)
			got += (size_t)n;
		close(fd);
		if (got == len)
			m = message_new(name, data, len, &st->st_mtim);
	}
	free(data);
	return m;
}

static void
entries_release(struct mailbox_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		message_unref(e[i].msg);
	free(e);
}

static bool
is_spool_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 4 && len < MAILBOX_NAME_MAX &&
	    strcmp(name + len - 4, ".eml") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted names of DIR/inbox/NAME.eml; *count set. NULL on failure. */
static char **
spool_list(const char *inbox, size_t *count)
{
	DIR *d = opendir(inbox);
	struct dirent *de;
	char **names = NULL, **p;
	size_t n = 0, cap = 0;

	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (!is_spool_name(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = realloc(names, cap * sizeof(*names))) == NULL)
				goto fail;
			names = p;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*count = n;
	return names != NULL ? names : calloc(1, sizeof(*names));
fail:
	closedir(d);
	free_names(names, n);
	return NULL;
}

/* The known entry with this name, if its file did not change. */
static struct mailbox_entry *
mailbox_find_unchanged(struct mailbox *mb, const char *name, const struct stat *st)
{
	for (size_t i = 0; i < mb->count; i++) {
		struct message *m = mb->entries[i].msg;

		if (strcmp(m->name, name) == 0)
			return m->len == (size_t)st->st_size && m->mtime == st->st_mtim.tv_sec &&
			    m->mtime_ns == st->st_mtim.tv_nsec ? &mb->entries[i] : NULL;
	}
	return NULL;
}

/* Gives new entries (uid 0) the next UIDs; renumbers all if order breaks. */
static void
mailbox_assign_uids(struct mailbox *mb, struct mailbox_entry *e, size_t n)
{
	unsigned prev = 0;
	bool ascending = true;

	for (size_t i = 0; i < n; i++) {
		if (e[i].uid == 0)
			e[i].uid = mb->uidnext++;
		if (e[i].uid <= prev)
			ascending = false;
		prev = e[i].uid;
	}
	if (ascending)
		return;
	mb->uidvalidity++;
	for (size_t i = 0; i < n; i++)
		e[i].uid = (unsigned)i + 1;
	mb->uidnext = (unsigned)n + 1;
}

static void
mailbox_note_seq(struct mailbox *mb, const char *name)
{
	char *end;
	unsigned long seq = strtoul(name, &end, 10);

	if (end != name && seq < 0xffffff00UL && seq >= mb->next_seq)
		mb->next_seq = (unsigned)seq + 1;
}

/* Re-reads DIR/inbox into mb->entries. */
static int
mailbox_scan(struct mailbox *mb)
{
	char path[SPOOL_PATH_MAX];
	struct mailbox_entry *fresh, *known;
	struct stat st;
	char **names;
	size_t n, used = 0;

	if (mb->inbox == NULL)
		return 0;
	if ((names = spool_list(mb->inbox, &n)) == NULL)
		return -1;
	if ((fresh = calloc(n ? n : 1, sizeof(*fresh))) == NULL) {
		free_names(names, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", mb->inbox, names[i]);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;                /* gone meanwhile, or not a file */
		mailbox_note_seq(mb, names[i]);
		if ((known = mailbox_find_unchanged(mb, names[i], &st)) != NULL) {
			known->msg->refs++;
			fresh[used++] = *known;
		} else if ((fresh[used].msg = message_load(path, names[i], &st)) != NULL) {
			fresh[used++].uid = 0;
		}
	}
	free_names(names, n);
	mailbox_assign_uids(mb, fresh, used);
	entries_release(mb->entries, mb->count);
	mb->entries = fresh;
	mb->count = used;
	return 0;
}

static int
view_append(struct mailbox_view *v, const struct mailbox_entry *e, size_t n)
{
	struct mailbox_entry *p;

	if (n == 0)
		return 0;
	if ((p = realloc(v->entries, (v->count + n) * sizeof(*p))) == NULL)
		return -1;
	v->entries = p;
	for (size_t i = 0; i < n; i++) {
		e[i].msg->refs++;
		v->entries[v->count++] = e[i];
	}
	return 0;
}

void
mailbox_view_release(struct mailbox_view *v)
{
	entries_release(v->entries, v->count);
	v->entries = NULL;
	v->count = 0;
}

int
mailbox_view_take(struct mailbox *mb, struct mailbox_view *v)
{
	mailbox_view_release(v);
	if (mailbox_scan(mb) == -1 || view_append(v, mb->entries, mb->count) == -1) {
		mailbox_view_release(v);
		return -1;
	}
	v->uidvalidity = mb->uidvalidity;
	return 0;
}

long
mailbox_view_extend(struct mailbox *mb, struct mailbox_view *v)
{
	unsigned last = v->count > 0 ? v->entries[v->count - 1].uid : 0;
	size_t first;

	if (mailbox_scan(mb) == -1)
		return -1;
	if (mb->uidvalidity != v->uidvalidity)
		return 0;                        /* renumbered: this session keeps its view */
	for (first = 0; first < mb->count && mb->entries[first].uid <= last; first++)
		;
	if (view_append(v, mb->entries + first, mb->count - first) == -1)
		return -1;
	return (long)(mb->count - first);
}

unsigned
mailbox_uidnext(const struct mailbox *mb)
{
	return mb->uidnext;
}

static int
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves tmp to a new DIR/inbox/%08u.eml without replacing anything. */
static int
spool_publish(struct mailbox *mb, const char *tmp, char *name, size_t namelen)
{
	char path[SPOOL_PATH_MAX];

	for (int i = 0; i < DELIVER_TRIES; i++) {
		snprintf(name, namelen, "%08u.eml", mb->next_seq++);
		snprintf(path, sizeof(path), "%s/%s", mb->inbox, name);
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* no RENAME_NOREPLACE here: link() never replaces either */
			if (link(tmp, path) == 0)
				return unlink(tmp);
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int
spool_deliver(struct mailbox *mb, const char *data, size_t len, char *name, size_t namelen,
    char *err, size_t errlen)
{
	char tmp[SPOOL_PATH_MAX];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%u", mb->inbox, (long)getpid(), ++mb->tmp_seq);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	rc = write_all(fd, data, len);
	if (close(fd) == -1)
		rc = -1;
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (spool_publish(mb, tmp, name, namelen) == -1) {
		snprintf(err, errlen, "%s: cannot move into %s: %s", tmp, mb->inbox, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
memory_deliver(struct mailbox *mb, const char *data, size_t len, char *name, size_t namelen,
    char *err, size_t errlen)
{
	struct mailbox_entry *p;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(name, namelen, "%08u.eml", mb->next_seq++);
	if ((p = realloc(mb->entries, (mb->count + 1) * sizeof(*p))) == NULL)
		goto oom;
	mb->entries = p;
	if ((p[mb->count].msg = message_new(name, data, len, &now)) == NULL)
		goto oom;
	p[mb->count++].uid = mb->uidnext++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
mailbox_deliver(struct mailbox *mb, const char *data, size_t len, char *name, size_t namelen,
    char *err, size_t errlen)
{
	if (mb->inbox != NULL)
		return spool_deliver(mb, data, len, name, namelen, err, errlen);
	return memory_deliver(mb, data, len, name, namelen, err, errlen);
}

int
mailbox_remove(struct mailbox *mb, const struct message *m)
{
	char path[SPOOL_PATH_MAX];

	if (mb->inbox != NULL) {
		snprintf(path, sizeof(path), "%s/%s", mb->inbox, m->name);
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	}
	for (size_t i = 0; i < mb->count; i++) {
		if (mb->entries[i].msg == m) {
			message_unref(mb->entries[i].msg);
			memmove(&mb->entries[i], &mb->entries[i + 1],
			    (mb->count - i - 1) * sizeof(mb->entries[i]));
			mb->count--;
			break;
		}
	}
	return 0;
}

static int
mkdir_exists_ok(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Creates DIR and DIR/inbox as needed and reads what is there. */
static int
mailbox_open_spool(struct mailbox *mb, const char *spool_dir, char *err, size_t errlen)
{
	size_t len = strlen(spool_dir) + sizeof("/inbox");

	if (len > SPOOL_PATH_MAX - MAILBOX_NAME_MAX - 2) {
		snprintf(err, errlen, "%s: spool path too long", spool_dir);
		return -1;
	}
	if ((mb->inbox = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(mb->inbox, len, "%s/inbox", spool_dir);
	if (mkdir_exists_ok(spool_dir, err, errlen) == -1 ||
	    mkdir_exists_ok(mb->inbox, err, errlen) == -1)
		return -1;
	if (mailbox_scan(mb) == -1) {
		snprintf(err, errlen, "%s: %s", mb->inbox, strerror(errno));
		return -1;
	}
	return 0;
}

struct mailbox *
mailbox_open(const char *spool_dir, char *err, size_t errlen)
{
	struct mailbox *mb = calloc(1, sizeof(*mb));
	char name[MAILBOX_NAME_MAX];

	if (mb == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mb->uidvalidity = (unsigned)time(NULL);
	mb->uidnext = 1;
	mb->next_seq = 1;
	if (spool_dir != NULL && mailbox_open_spool(mb, spool_dir, err, errlen) == -1)
		goto fail;
	if (mb->count == 0) {
		if (mailbox_deliver(mb, mailbox_known_message, sizeof(mailbox_known_message) - 1,
		    name, sizeof(name), err, errlen) == -1)
			goto fail;
		if (mailbox_scan(mb) == -1) {
			snprintf(err, errlen, "%s: %s", mb->inbox, strerror(errno));
			goto fail;
		}
	}
	return mb;
fail:
	mailbox_free(mb);
	return NULL;
}

void
mailbox_free(struct mailbox *mb)
{
	if (mb == NULL)
		return;
	entries_release(mb->entries, mb->count);
	free(mb->inbox);
	free(mb);
}
