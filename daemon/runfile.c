/*
 * runfile.c: the files parleyd keeps in run_dir for operators and tools
 * (the pidfile, ports.json), each written whole under a temporary name and
 * renamed, so a reader never sees half of one.
 */
#include <stdio.h>

#include "log.h"
#include "runfile.h"

void
runfile_write(const char *path, const char *text)
{
	char tmp[4200];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("write_file", "%s", tmp);
		return;
	}
	fputs(text, fp);
	if (fclose(fp) != 0 || rename(tmp, path) == -1)
		log_warn("write_file", "%s", path);
}
