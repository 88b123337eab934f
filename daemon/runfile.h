/* runfile.h: write run_dir's files atomically (runfile.c). */
#ifndef PARLEY_RUNFILE_H
#define PARLEY_RUNFILE_H

/* path gets text, or keeps what it had; a failure is logged. */
void	runfile_write(const char *path, const char *text);

#endif
