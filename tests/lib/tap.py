"""Run Python unittest modules and report in TAP, like the kernel selftests.

    python3 -m tests.lib.tap DIR_OR_FILE...      (from the top of the tree)

A suite is a directory of test_*.py modules (or one of them); unittest's
discovery makes the directory the top level, so a suite's own helper modules
are imported by their plain names, and the library as tests.lib.<module>.
"""

import os
import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _report(self, test, ok, extra=''):
        self.n += 1
        print(f'{"ok" if ok else "not ok"} {self.n} - {test.id()}{extra}',
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._report(test, True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._report(test, True, f' # SKIP {reason}')

    def _fail(self, test, err, kind):
        self._report(test, False)
        text = self._exc_info_to_string(err, test)
        print('\n'.join('# ' + line for line in f'{kind}: {text}'.splitlines()),
              flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, 'FAIL')

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, 'ERROR')


def main():
    suite = unittest.TestSuite()
    for path in sys.argv[1:]:
        path = os.path.abspath(path)
        top, pattern = ((path, 'test_*.py') if os.path.isdir(path)
                        else os.path.split(path))
        suite.addTests(unittest.TestLoader().discover(top, pattern=pattern,
                                                      top_level_dir=top))
    print('TAP version 13')
    print(f'1..{suite.countTestCases()}', flush=True)
    result = TapResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
