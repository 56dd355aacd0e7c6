/* hookrun.c: store hooks in detached threads. */
#include "proxy/hookrun.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "certstore/certstore.h"
#include "proxy/log.h"

struct hook_job {
	char *dir;
	struct cs_change change;
};

/* The last non-empty line of a hook's output: usually the reason it failed. */
static const char *
last_line(char *output)
{
	char *end = output + strlen(output);

	while (end > output && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	while (end > output && end[-1] != '\n')
		end--;
	return end;
}

static void *
hook_thread(void *arg)
{
	struct hook_job *job = arg;
	struct cs_hook_result r;
	struct cs_error err;
	struct certstore *cs = certstore_open(job->dir, &err);

	if (cs == NULL || certstore_hook_run(cs, &job->change, &r, &err) == -1)
		log_error("hook for %s@%u: %s", job->change.name, job->change.version, err.msg);
	else if (r.ran && r.exit_status == 0)
		log_notice("%s", r.summary);
	else if (r.ran)
		log_error("%s: %s", r.summary, last_line(r.output));
	certstore_close(cs);
	free(job->dir);
	free(job);
	return NULL;
}

void
hookrun_start(struct certstore *store, const struct cs_change *change)
{
	struct hook_job *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t tid;
	int rc = -1;

	if (job != NULL && (job->dir = strdup(certstore_dir(store))) != NULL) {
		job->change = *change;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, hook_thread, job);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		log_error("hook for %s@%u: cannot start a thread for it; run it by hand",
		    change->name, change->version);
		if (job != NULL)
			free(job->dir);
		free(job);
	}
}
