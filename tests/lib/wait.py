"""The one bounded wait of the tests: poll until something holds, or say
what did not happen."""

import time


class WaitTimeout(AssertionError):
    """What was awaited did not happen in time: a test failure, not an error."""


def wait_for(what, observe, until=bool, timeout=60, interval=0.1, details=None):
    """Call observe() until until(value) holds; return that value.

    observe() may raise to give up early (a failed migration, say).  Past
    timeout seconds, raise WaitTimeout naming `what` and the last value
    observed, with details() appended when given (a log's tail, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = observe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            extra = f'; {details()}' if details else ''
            raise WaitTimeout(f'waited {timeout} s for {what}; last observed: '
                              f'{value!r}{extra}')
        time.sleep(interval)
