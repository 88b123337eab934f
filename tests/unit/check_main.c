/* check_main.c: the one main() of every Check unit program: runs the
 * suite its module file names with unit_suite().  Check's own environment
 * applies (CK_FORK=no, CK_RUN_SUITE, CK_RUN_CASE, CK_VERBOSITY); the exit
 * status is what make check reads. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"

int
main(void)
{
	SRunner	*sr = srunner_create(unit_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
