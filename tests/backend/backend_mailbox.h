/* backend_mailbox.h: the test backend's one mailbox, on disk or in memory.
 *
 * On disk (--spool DIR) the mailbox is the files DIR/inbox/NAME.eml in name
 * order; SMTP delivers into it atomically (temp file, then rename), so tests
 * and later sessions see whole messages only. Without a spool it lives in
 * memory. Either way it starts with one known message if it is empty.
 *
 * Sessions work on a view: their own counted references to the messages and
 * their UIDs at the time they looked, so a message removed by one session
 * stays readable by another that still holds it. */
#ifndef CERTWRAP_TESTBACKEND_MAILBOX_H
#define CERTWRAP_TESTBACKEND_MAILBOX_H

#include <stddef.h>
#include <time.h>

#define MAILBOX_NAME_MAX 64                 /* a message's file name */

/* The known message every empty mailbox starts with (MAILBOX_KNOWN_NAME). */
#define MAILBOX_KNOWN_NAME "00000001.eml"
extern const char mailbox_known_message[];

/* A message's content; immutable and shared, freed with its last reference. */
struct message {
	unsigned refs;
	char name[MAILBOX_NAME_MAX];        /* file name; also the POP3 UIDL */
	time_t mtime;                       /* IMAP INTERNALDATE */
	long mtime_ns;
	size_t len;
	char *data;
};

struct mailbox_entry {
	struct message *msg;
	unsigned uid;
};

/* A session's snapshot: references it owns, in mailbox order. */
struct mailbox_view {
	struct mailbox_entry *entries;
	size_t count;
	unsigned uidvalidity;
};

struct mailbox;

/* Opens the mailbox in spool_dir (creating DIR and DIR/inbox if needed), or an
 * in-memory one if spool_dir is NULL, and adds the known message if it is
 * empty. NULL on failure, err says why. */
struct mailbox *mailbox_open(const char *spool_dir, char *err, size_t errlen);
void mailbox_free(struct mailbox *mb);          /* NULL is a no-op */

/* Re-reads the spool and fills v with a fresh snapshot (releasing what v held).
 * 0, or -1 with v empty. */
int mailbox_view_take(struct mailbox *mb, struct mailbox_view *v);

/* Re-reads the spool and appends to v the messages newer than its last one
 * (IMAP NOOP). The number appended, or -1 with v unchanged. */
long mailbox_view_extend(struct mailbox *mb, struct mailbox_view *v);

/* Releases v's references and empties it. */
void mailbox_view_release(struct mailbox_view *v);

/* The UID the next delivered message will get. */
unsigned mailbox_uidnext(const struct mailbox *mb);

/* Stores a message; name receives its file name. 0, or -1 with err set. */
int mailbox_deliver(struct mailbox *mb, const char *data, size_t len,
    char *name, size_t namelen, char *err, size_t errlen);

/* Removes a message (POP3 DELE at QUIT); a message already gone is not an
 * error. 0, or -1 with errno set. */
int mailbox_remove(struct mailbox *mb, const struct message *m);

#endif
