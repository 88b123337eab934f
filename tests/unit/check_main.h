/* check_main.h: the hook between the shared main() (check_main.c) and the
 * one module a Check unit program tests. */
#ifndef PARLEY_CHECK_MAIN_H
#define PARLEY_CHECK_MAIN_H

#include <check.h>

/* The program's suite; defined once per tests/unit/check_*.c.  Called
 * before any test runs (and before any fork), so process-wide set-up that
 * every test needs (log_init) may go here too. */
Suite	*unit_suite(void);

#endif
