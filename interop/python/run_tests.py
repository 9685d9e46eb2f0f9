"""Runs the interop tests with unittest and ends with one plain summary line
("interop-python: N passed, N failed, N skipped"). Arguments, if any, are test names
(`test_orderly`, `test_offsets.OffsetResumeTest`, ...); otherwise every test_*.py here."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import soyuz_harness  # noqa: E402,F401  (sets HOME before rocketmq loads)


def main(argv):
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    sys.stderr.write("work dir: %s\nsoyuz: %s\n" % (soyuz_harness.WORK_DIR, soyuz_harness.SOYUZ_BIN))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stderr).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    sys.stdout.write("interop-python: %d passed, %d failed, %d skipped\n" % (passed, failed, skipped))
    sys.stdout.flush()
    if result.testsRun == 0:
        return 1
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    # os._exit: librocketmq's threads must not be able to hang interpreter shutdown.
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)
