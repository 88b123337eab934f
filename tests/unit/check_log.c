/* check_log.c: the log file and its reopen (SIGUSR1 after a rotation):
 * lines before it stay in the rotated file, lines after it go to the new
 * one, and the descriptor the broker's reader threads write to keeps its
 * number (replaced in place, never closed under them). */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);

	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(buf);
	fread(buf, 1, 65535, fp);
	fclose(fp);
	return buf;
}

/* The descriptor open on a path ending in suffix, or -1. */
static int
fd_of(const char *suffix)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[64], target[512];
	int found = -1;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		ssize_t n;
		size_t sl = strlen(suffix);

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if ((size_t)n >= sl && strcmp(target + n - sl, suffix) == 0)
			found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_reopen_after_rotation)
{
	char dir[] = "/tmp/parley-log-XXXXXX", path[256], old[256];
	char *a, *b;
	struct stat st;
	int fds, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parleyd.log", dir);
	snprintf(old, sizeof(old), "%s/parleyd.log.1", dir);
	log_init("test", -1, 0);
	ck_assert_int_eq(log_open(path), 0);
	log_info("before_rotation", "first");
	ck_assert_int_eq(rename(path, old), 0);
	fds = open_fds();
	fd = fd_of("/parleyd.log.1");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(log_open(path), 0);	/* what SIGUSR1 does */
	ck_assert_int_eq(open_fds(), fds);	/* no leak */
	/* The same number now writes to the new file. */
	ck_assert_int_eq(fd_of("/parleyd.log"), fd);
	ck_assert_int_eq(fd_of("/parleyd.log.1"), -1);
	log_info("after_rotation", "second");
	a = slurp(old);
	b = slurp(path);
	ck_assert_ptr_nonnull(strstr(a, "before_rotation"));
	ck_assert_ptr_null(strstr(a, "after_rotation"));
	ck_assert_ptr_nonnull(strstr(b, "after_rotation"));
	ck_assert_ptr_null(strstr(b, "before_rotation"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(a);
	free(b);
	unlink(path);
	unlink(old);
	rmdir(dir);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, test_reopen_after_rotation);
	suite_add_tcase(s, tc);
	return s;
}
