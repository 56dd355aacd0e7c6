/* storejob.c: a worker thread for store verbs, and its way back to the loop. */
#include "proxy/storejob.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "certstore/certstore.h"
#include "ctl/ctlproto.h"
#include "ctl/ctlstore.h"
#include "proxy/certwatch.h"
#include "proxy/control.h"
#include "proxy/daemon.h"
#include "proxy/hookrun.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"

struct job {
	struct job *next;
	char *dir;
	struct ctl_msg req, resp;
	struct ctlstore_changes changes;
	struct control_request *r;
};

struct storejobs {
	struct daemon *d;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *waiting, *done;           /* FIFO queues, under lock */
	unsigned n_waiting;
	bool stopping;
	ev_async answered;
};

static void
job_free(struct job *j)
{
	free(j->dir);
	ctl_msg_free(&j->req);
	ctl_msg_free(&j->resp);
	ctlstore_changes_free(&j->changes);
	free(j);
}

static void
push(struct job **queue, struct job *j)
{
	j->next = NULL;
	while (*queue != NULL)
		queue = &(*queue)->next;
	*queue = j;
}

static void
job_run(struct job *j)
{
	struct cs_error err;
	struct certstore *cs = certstore_open(j->dir, &err);
	struct ctlstore_env env = { .cs = cs, .now = time(NULL), .changes = &j->changes };

	if (cs == NULL) {
		ctl_msg_error(&j->resp, "%s", err.msg);
		return;
	}
	ctlstore_execute(&env, &j->req, &j->resp);
	if (ctl_msg_get(&j->resp, "status") == NULL)
		ctl_msg_error(&j->resp, "out of memory");
	certstore_close(cs);
}

static void *
worker(void *arg)
{
	struct storejobs *q = arg;
	struct job *j;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->waiting == NULL && !q->stopping)
			pthread_cond_wait(&q->wake, &q->lock);
		if (q->waiting == NULL)
			break;
		j = q->waiting;
		q->waiting = j->next;
		q->n_waiting--;
		pthread_mutex_unlock(&q->lock);
		job_run(j);
		pthread_mutex_lock(&q->lock);
		push(&q->done, j);
		ev_async_send(q->d->loop, &q->answered);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* On the loop: hooks, certwatch, and the answers, in order. */
static void
deliver(struct storejobs *q)
{
	struct job *done, *next;

	pthread_mutex_lock(&q->lock);
	done = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->lock);
	for (struct job *j = done; j != NULL; j = next) {
		struct snapshot *snap = q->d->snap;

		next = j->next;
		for (size_t i = 0; i < j->changes.n && snap != NULL && snap->store != NULL; i++)
			hookrun_start(snap->store, &j->changes.v[i]);
		if (j->changes.n > 0)
			certwatch_check_now(q->d->certwatch);
		control_reply(j->r, &j->resp);
		job_free(j);
	}
}

static void
answered_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	deliver(a->data);
}

void
storejob_submit(struct storejobs *q, const char *store_dir, const struct ctl_msg *req,
    struct control_request *r)
{
	struct job *j = calloc(1, sizeof(*j));
	struct ctl_msg resp = { 0 };
	bool copied = j != NULL && (j->dir = strdup(store_dir)) != NULL;

	for (size_t i = 0; copied && i < req->n; i++)
		copied = ctl_msg_add(&j->req, req->fields[i].name, req->fields[i].value,
		    req->fields[i].len) == 0;
	pthread_mutex_lock(&q->lock);
	if (!copied || q->n_waiting >= STOREJOB_QUEUE_MAX) {
		pthread_mutex_unlock(&q->lock);
		ctl_msg_error(&resp, copied ? "certwrapd is busy with %u store requests; try again "
		    "shortly" : "out of memory", STOREJOB_QUEUE_MAX);
		control_reply(r, &resp);
		if (j != NULL)
			job_free(j);
		return;
	}
	j->r = r;
	push(&q->waiting, j);
	q->n_waiting++;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	control_defer(r, STOREJOB_TIMEOUT_S);
}

struct storejobs *
storejob_new(struct daemon *d)
{
	struct storejobs *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		log_error("control: out of memory; store verbs are not available");
		return NULL;
	}
	q->d = d;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	ev_async_init(&q->answered, answered_cb);
	q->answered.data = q;
	ev_async_start(d->loop, &q->answered);
	if (pthread_create(&q->thread, NULL, worker, q) != 0) {
		log_error("control: cannot start the store thread; store verbs are not available");
		ev_async_stop(d->loop, &q->answered);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return NULL;
	}
	return q;
}

void
storejob_free(struct storejobs *q)
{
	struct job *queued, *next;
	struct ctl_msg resp = { 0 };

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	queued = q->waiting;                     /* not started: they will not run */
	q->waiting = NULL;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	deliver(q);                           /* the one that was running */
	for (struct job *j = queued; j != NULL; j = next) {
		next = j->next;
		ctl_msg_error(&resp, "certwrapd is stopping; the request was not run");
		control_reply(j->r, &resp);
		job_free(j);
	}
	ev_async_stop(q->d->loop, &q->answered);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
