/* backend_imap_fetch.c: IMAP FETCH and SEARCH, with and without UID.
 *
 * FETCH items: UID, FLAGS, RFC822.SIZE, INTERNALDATE, RFC822, RFC822.HEADER,
 * RFC822.TEXT, BODY[] / BODY[HEADER] / BODY[TEXT] and their BODY.PEEK forms,
 * with an optional <origin.count>, and the FAST macro. What imaplib's
 * fetch(n, "(RFC822)") and curl's imap://.../INBOX;UID=n send is in there.
 * ENVELOPE and BODYSTRUCTURE are not: they get BAD, as any unknown item.
 * SEARCH keys: ALL, SEEN, UNSEEN, a sequence set, UID set (all ANDed).
 * Flags live in the session: \Seen is set by a non-peek body fetch. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend_imap.h"

#define FETCH_ITEMS_MAX 16
#define FETCH_NAME_MAX  32

enum fetch_kind {
	FETCH_UID,
	FETCH_FLAGS,
	FETCH_SIZE,                  /* RFC822.SIZE */
	FETCH_INTERNALDATE,
	FETCH_RFC822,                /* = BODY[], sets \Seen */
	FETCH_RFC822_HEADER,         /* = BODY.PEEK[HEADER] */
	FETCH_RFC822_TEXT,           /* = BODY[TEXT], sets \Seen */
	FETCH_BODY,                  /* BODY[section]<partial>, BODY.PEEK[...] */
};

enum fetch_section { SECTION_ALL, SECTION_HEADER, SECTION_TEXT };

struct fetch_item {
	enum fetch_kind kind;
	enum fetch_section section;
	bool peek;
	bool partial;
	size_t origin;
	size_t count;
};

struct fetch_request {
	struct fetch_item items[FETCH_ITEMS_MAX];
	size_t n;
};

static const char *const section_names[] = {
	[SECTION_ALL] = "", [SECTION_HEADER] = "HEADER", [SECTION_TEXT] = "TEXT",
};

static int
fetch_add(struct fetch_request *req, enum fetch_kind kind)
{
	if (req->n == FETCH_ITEMS_MAX)
		return -1;
	memset(&req->items[req->n], 0, sizeof(req->items[0]));
	req->items[req->n++].kind = kind;
	return 0;
}

/* "<" origin "." count ">" after a BODY section. */
static int
parse_partial(struct imap_parser *ps, struct fetch_item *it)
{
	unsigned long origin, count;
	int used = 0;

	if (ps->p >= ps->end || *ps->p != '<')
		return 0;
	if (sscanf(ps->p, "<%lu.%lu>%n", &origin, &count, &used) != 2 || used == 0 || count == 0)
		return -1;
	ps->p += used;
	it->partial = true;
	it->origin = origin;
	it->count = count;
	return 0;
}

/* "[" section "]" [partial] after BODY or BODY.PEEK. */
static int
parse_body_section(struct imap_parser *ps, struct fetch_item *it)
{
	const char *close;
	size_t len;

	if (ps->p >= ps->end || *ps->p != '[' ||
	    (close = memchr(ps->p, ']', (size_t)(ps->end - ps->p))) == NULL)
		return -1;
	len = (size_t)(close - ps->p - 1);
	if (len == 0)
		it->section = SECTION_ALL;
	else if (len == 6 && strncasecmp(ps->p + 1, "HEADER", 6) == 0)
		it->section = SECTION_HEADER;
	else if (len == 4 && strncasecmp(ps->p + 1, "TEXT", 4) == 0)
		it->section = SECTION_TEXT;
	else
		return -1;
	ps->p = close + 1;
	return parse_partial(ps, it);
}

static int
parse_item_name(struct imap_parser *ps, char *name)
{
	size_t n = 0;

	while (ps->p < ps->end && n + 1 < FETCH_NAME_MAX &&
	    ((*ps->p >= 'A' && *ps->p <= 'Z') || (*ps->p >= 'a' && *ps->p <= 'z') ||
	     (*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.'))
		name[n++] = *ps->p++;
	name[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
parse_fetch_item(struct imap_parser *ps, struct fetch_request *req)
{
	static const struct { const char *name; enum fetch_kind kind; } simple[] = {
		{ "UID", FETCH_UID }, { "FLAGS", FETCH_FLAGS }, { "RFC822.SIZE", FETCH_SIZE },
		{ "INTERNALDATE", FETCH_INTERNALDATE }, { "RFC822", FETCH_RFC822 },
		{ "RFC822.HEADER", FETCH_RFC822_HEADER }, { "RFC822.TEXT", FETCH_RFC822_TEXT },
	};
	char name[FETCH_NAME_MAX];
	bool peek;

	if (parse_item_name(ps, name) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcasecmp(name, simple[i].name) == 0)
			return fetch_add(req, simple[i].kind);
	if (strcasecmp(name, "FAST") == 0)
		return fetch_add(req, FETCH_FLAGS) == 0 && fetch_add(req, FETCH_INTERNALDATE) == 0 ?
		    fetch_add(req, FETCH_SIZE) : -1;
	if (strcasecmp(name, "BODY") != 0 && strcasecmp(name, "BODY.PEEK") != 0)
		return -1;                   /* ENVELOPE, BODYSTRUCTURE, ...: not here */
	peek = strcasecmp(name, "BODY.PEEK") == 0;
	if (fetch_add(req, FETCH_BODY) == -1)
		return -1;
	req->items[req->n - 1].peek = peek;
	return parse_body_section(ps, &req->items[req->n - 1]);
}

/* One item, or a parenthesized list of items. */
static int
parse_fetch_items(struct imap_parser *ps, struct fetch_request *req)
{
	req->n = 0;
	if (ps->p >= ps->end || *ps->p != '(')
		return parse_fetch_item(ps, req);
	ps->p++;
	do {
		if (parse_fetch_item(ps, req) == -1)
			return -1;
	} while (imap_parse_sp(ps) == 0);
	if (ps->p >= ps->end || *ps->p != ')')
		return -1;
	ps->p++;
	return 0;
}

static bool
fetch_has(const struct fetch_request *req, enum fetch_kind kind)
{
	for (size_t i = 0; i < req->n; i++)
		if (req->items[i].kind == kind)
			return true;
	return false;
}

static bool
fetch_sets_seen(const struct fetch_request *req)
{
	for (size_t i = 0; i < req->n; i++) {
		const struct fetch_item *it = &req->items[i];

		if (it->kind == FETCH_RFC822 || it->kind == FETCH_RFC822_TEXT ||
		    (it->kind == FETCH_BODY && !it->peek))
			return true;
	}
	return false;
}

/* The bytes of a section: the header ends with its blank line. */
static void
message_section(const struct message *m, enum fetch_section sec, const char **p, size_t *len)
{
	const char *blank = memmem(m->data, m->len, "\r\n\r\n", 4);
	size_t header_len = blank != NULL ? (size_t)(blank - m->data) + 4 : m->len;

	if (blank == NULL && (blank = memmem(m->data, m->len, "\n\n", 2)) != NULL)
		header_len = (size_t)(blank - m->data) + 2;
	*p = m->data;
	*len = m->len;
	if (sec == SECTION_HEADER) {
		*len = header_len;
	} else if (sec == SECTION_TEXT) {
		*p = m->data + header_len;
		*len = m->len - header_len;
	}
}

static void
write_literal(struct conn *c, const char *p, size_t len)
{
	conn_printf(c, "{%zu}\r\n", len);
	conn_write(c, p, len);
}

static void
write_body_item(struct conn *c, const struct message *m, const struct fetch_item *it)
{
	const char *p;
	size_t len;

	message_section(m, it->section, &p, &len);
	if (it->kind != FETCH_BODY) {
		conn_puts(c, it->kind == FETCH_RFC822 ? "RFC822 " :
		    it->kind == FETCH_RFC822_HEADER ? "RFC822.HEADER " : "RFC822.TEXT ");
		write_literal(c, p, len);
		return;
	}
	conn_printf(c, "BODY[%s]", section_names[it->section]);
	if (it->partial) {
		conn_printf(c, "<%zu>", it->origin);
		p += it->origin < len ? it->origin : len;
		len = it->origin < len ? len - it->origin : 0;
		if (len > it->count)
			len = it->count;
	}
	conn_puts(c, " ");
	write_literal(c, p, len);
}

static void
write_item(struct imap_session *s, size_t i, const struct fetch_item *it)
{
	const struct mailbox_entry *e = &s->view.entries[i];
	char date[64];
	struct tm tm;

	switch (it->kind) {
	case FETCH_UID:
		conn_printf(s->c, "UID %u", e->uid);
		break;
	case FETCH_FLAGS:
		conn_puts(s->c, s->seen[i] ? "FLAGS (\\Seen)" : "FLAGS ()");
		break;
	case FETCH_SIZE:
		conn_printf(s->c, "RFC822.SIZE %zu", e->msg->len);
		break;
	case FETCH_INTERNALDATE:
		gmtime_r(&e->msg->mtime, &tm);
		strftime(date, sizeof(date), "%d-%b-%Y %H:%M:%S +0000", &tm);
		conn_printf(s->c, "INTERNALDATE \"%s\"", date);
		break;
	default:
		write_body_item(s->c, e->msg, it);
		break;
	}
}

/* "* n FETCH (...)" for message i (0-based). */
static void
fetch_one(struct imap_session *s, size_t i, const struct fetch_request *req, bool by_uid)
{
	bool newly_seen = !s->read_only && !s->seen[i] && fetch_sets_seen(req);
	const char *sep = "";

	if (newly_seen)
		s->seen[i] = true;
	conn_printf(s->c, "* %zu FETCH (", i + 1);
	if (by_uid && !fetch_has(req, FETCH_UID)) {
		conn_printf(s->c, "UID %u", s->view.entries[i].uid);   /* RFC 3501 6.4.8 */
		sep = " ";
	}
	for (size_t k = 0; k < req->n; k++) {
		conn_puts(s->c, sep);
		write_item(s, i, &req->items[k]);
		sep = " ";
	}
	if (newly_seen && !fetch_has(req, FETCH_FLAGS))
		conn_printf(s->c, "%sFLAGS (\\Seen)", sep);           /* an implicit change is told */
	conn_puts(s->c, ")\r\n");
}

/* Sequence numbers must name existing messages; UIDs need not. */
static bool
seq_set_valid(const struct imap_seq_set *set, size_t count)
{
	for (size_t i = 0; i < set->n; i++) {
		unsigned lo = set->r[i].lo, hi = set->r[i].hi;

		if ((lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR) && count == 0)
			return false;
		if ((lo != IMAP_SEQ_STAR && lo > count) || (hi != IMAP_SEQ_STAR && hi > count))
			return false;
	}
	return true;
}

static unsigned
view_max_uid(const struct imap_session *s)
{
	return s->view.count > 0 ? s->view.entries[s->view.count - 1].uid : 0;
}

void
imap_fetch(struct imap_session *s, const char *tag, struct imap_parser *ps, bool by_uid)
{
	struct imap_seq_set set;
	struct fetch_request req;
	const char *cmd = by_uid ? "UID FETCH" : "FETCH";

	if (imap_parse_sp(ps) == -1 || imap_parse_seq_set(ps, &set) == -1 ||
	    imap_parse_sp(ps) == -1 || parse_fetch_items(ps, &req) == -1 ||
	    !imap_parse_at_end(ps)) {
		conn_printf(s->c, "%s BAD Syntax error in %s arguments\r\n", tag, cmd);
		return;
	}
	if (!by_uid && !seq_set_valid(&set, s->view.count)) {
		conn_printf(s->c, "%s BAD Invalid message sequence number\r\n", tag);
		return;
	}
	for (size_t i = 0; i < s->view.count; i++) {
		unsigned key = by_uid ? s->view.entries[i].uid : (unsigned)i + 1;
		unsigned star = by_uid ? view_max_uid(s) : (unsigned)s->view.count;

		if (imap_seq_set_contains(&set, key, star))
			fetch_one(s, i, &req, by_uid);
	}
	conn_printf(s->c, "%s OK %s completed\r\n", tag, cmd);
}

/* What SEARCH keys look at in one message. */
struct search_facts {
	unsigned seq;
	unsigned uid;
	bool seen;
	unsigned count;              /* "*" as a sequence number */
	unsigned max_uid;            /* "*" as a UID */
};

/* Whether the message matches one key; -1 if the key is not known. */
static int
search_key(struct imap_parser *ps, const struct search_facts *f)
{
	struct imap_parser start = *ps;
	struct imap_seq_set set;
	char key[FETCH_NAME_MAX];

	if (imap_parse_seq_set(ps, &set) == 0)
		return imap_seq_set_contains(&set, f->seq, f->count);
	if (imap_parse_atom(ps, key, sizeof(key)) == -1)
		return -1;
	if (strcasecmp(key, "ALL") == 0)
		return 1;
	if (strcasecmp(key, "SEEN") == 0)
		return f->seen;
	if (strcasecmp(key, "UNSEEN") == 0)
		return !f->seen;
	if (strcasecmp(key, "UID") == 0 && imap_parse_sp(ps) == 0 &&
	    imap_parse_seq_set(ps, &set) == 0)
		return imap_seq_set_contains(&set, f->uid, f->max_uid);
	*ps = start;
	return -1;
}

/* Whether the message matches all keys; -1 on a syntax error. */
static int
search_match(struct imap_parser ps, const struct search_facts *f)
{
	int all = 1, r;

	do {
		if ((r = search_key(&ps, f)) == -1)
			return -1;
		all = all && r;
	} while (imap_parse_sp(&ps) == 0);
	return imap_parse_at_end(&ps) ? all : -1;
}

void
imap_search(struct imap_session *s, const char *tag, struct imap_parser *ps, bool by_uid)
{
	const char *cmd = by_uid ? "UID SEARCH" : "SEARCH";
	struct search_facts f = { .count = (unsigned)s->view.count, .max_uid = view_max_uid(s) };

	/* Syntax first, on made-up facts, so an empty mailbox refuses a bad key too. */
	if (imap_parse_sp(ps) == -1 || search_match(*ps, &f) == -1) {
		conn_printf(s->c, "%s BAD Unsupported or malformed %s criteria\r\n", tag, cmd);
		return;
	}
	conn_puts(s->c, "* SEARCH");
	for (size_t i = 0; i < s->view.count; i++) {
		f.seq = (unsigned)i + 1;
		f.uid = s->view.entries[i].uid;
		f.seen = s->seen[i];
		if (search_match(*ps, &f) == 1)
			conn_printf(s->c, " %u", by_uid ? f.uid : f.seq);
	}
	conn_printf(s->c, "\r\n%s OK %s completed\r\n", tag, cmd);
}
