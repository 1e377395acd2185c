#!/usr/bin/env python3
"""Runs the Python binding tests (every test_*.py here) and ends with the harness's closing line
"N passed, N failed, N skipped" (tests/run.sh counts it). Exit status 0 when nothing failed.
Arguments: -v for one line per test; test names (e.g. test_js) to run only those modules."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the hyperlight package of this tree


def main(argv):
    verbose = "-v" in argv
    names = [a for a in argv if not a.startswith("-")]
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if verbose else 1).run(suite)
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - skipped - len(result.expectedFailures)
    if result.testsRun == 0:
        failed += 1
        print("no tests found")
    sys.stderr.flush()
    # on a line of its own, whatever a test left unterminated on either stream
    print("\n%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
