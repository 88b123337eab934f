/*
 * parley_fill.c: appends messages to a stopped parley's database through
 * the store API the broker uses, so every index, counter and trigger is
 * kept exactly as the broker keeps it.  Tests use it to make rooms with a
 * large history in seconds (the API would take minutes).
 *
 *   parley_fill DB ROOM USER < texts      one message per input line
 *
 * Lines are UTF-8 texts without a newline; an empty line is skipped.
 * Prints the room's last seq.  Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

#define FILL_BATCH	5000	/* messages per transaction */

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char *argv[])
{
	struct store		*s;
	struct store_post	 p;
	struct store_ack	 a;
	char			 err[256], *line = NULL;
	size_t			 cap = 0, n = 0;
	ssize_t			 len;
	int64_t			 last = 0;
	int			 rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: parley_fill DB ROOM USER < texts\n");
		return 1;
	}
	log_init("parley_fill", -1, 0);
	if ((s = store_open(argv[1], CFG_SYNC_NORMAL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "parley_fill: %s\n", err);
		return 1;
	}
	if (store_begin(s) == -1)
		goto out;
	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.sp_room = argv[2];
		p.sp_user = argv[3];
		p.sp_name = argv[3];
		p.sp_text = line;
		p.sp_ts = wall_ms();
		if (store_message_append(s, &p, &a) == -1)
			goto out;
		last = a.sa_seq;
		if (++n % FILL_BATCH == 0 &&
		    (store_commit(s) == -1 || store_begin(s) == -1))
			goto out;
	}
	if (store_commit(s) == -1)
		goto out;
	printf("%lld\n", (long long)last);
	rc = 0;
out:
	if (rc != 0) {
		fprintf(stderr, "parley_fill: store error after %zu messages\n",
		    n);
		store_rollback(s);
	}
	free(line);
	store_close(s);
	return rc;
}
