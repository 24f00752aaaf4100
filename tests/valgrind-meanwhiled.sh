#!/bin/sh
# Runs meanwhiled under valgrind for the integration tests (ctest label
# valgrind): any memory error, or a definite leak at exit, makes the exit
# status 99, which the tests' harness reports as a failure.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --track-origins=no "$MW_REAL_MEANWHILED" "$@"
