/* fdlimit.c: the open-file limit, raised once by the supervisor; the
 * children inherit it.  Like Redis with maxclients, parley asks for what
 * its configuration needs and says plainly when the system gives less. */
#include <sys/resource.h>

#include <errno.h>
#include <inttypes.h>

#include "fdlimit.h"
#include "log.h"

uint64_t
fdlimit_wanted(uint64_t max_connections, int nworkers)
{
	uint64_t n = nworkers > 0 ? (uint64_t)nworkers : 1;

	/* Each worker admits its share, rounded up. */
	return (max_connections + n - 1) / n + FDLIMIT_RESERVE;
}

uint64_t
fdlimit_raise(uint64_t wanted)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("fd_limit", "getrlimit");
		return 0;
	}
	want = (rlim_t)wanted;
	/* Started as root (CAP_SYS_RESOURCE), the hard limit may rise too,
	 * as nginx's worker_rlimit_nofile does; otherwise this fails and the
	 * soft limit stops at the hard one. */
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
		struct rlimit up = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
			log_info("fd_limit", "open files: soft and hard raised "
			    "to %" PRIu64, (uint64_t)want);
			return (uint64_t)want;
		}
		want = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) {
		log_info("fd_limit", "open files: soft %" PRIu64 ", hard %"
		    PRIu64 ", wanted %" PRIu64, (uint64_t)rl.rlim_cur,
		    (uint64_t)rl.rlim_max, wanted);
		return (uint64_t)rl.rlim_cur;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("fd_limit", "setrlimit to %" PRIu64, (uint64_t)want);
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 0;
	}
	if ((uint64_t)rl.rlim_cur < wanted)
		log_warnx("fd_limit", "open files: soft %" PRIu64 ", hard %"
		    PRIu64 ", wanted %" PRIu64 ": each worker can hold about "
		    "%" PRIu64 " connections; raise the hard limit "
		    "(LimitNOFILE=, ulimit -Hn) for more",
		    (uint64_t)rl.rlim_cur, (uint64_t)rl.rlim_max, wanted,
		    (uint64_t)rl.rlim_cur > FDLIMIT_RESERVE ?
		    (uint64_t)rl.rlim_cur - FDLIMIT_RESERVE : 0);
	else
		log_info("fd_limit", "open files: soft raised to %" PRIu64
		    " (hard %" PRIu64 ")", (uint64_t)rl.rlim_cur,
		    (uint64_t)rl.rlim_max);
	return (uint64_t)rl.rlim_cur;
}
