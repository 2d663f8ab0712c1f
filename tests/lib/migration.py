"""Live migration between two QEMUs: the tiny guest's (tests/lib/guest_vm.py)
or qtest machines (tests/lib/qtest.py), both with qmp(), name and mark().

Used by the migration scenarios (tests/avocado), the SVQ-switch scenario and
`make demo`.  The phases recorded on both sides: "init" from launch to the
migrate command (on the destination that is the incoming set-up), "migrate"
to the end of the migration, "after" from then on.
"""

from tests.lib.wait import wait_for

DONE = ('completed', 'failed', 'cancelled')


class MigrationError(Exception):
    pass


def wait_status(vm, states, timeout=120):
    """Poll query-migrate until its status is one of states; return it."""
    def observe():
        info = vm.qmp('query-migrate')
        if info.get('status') in DONE and info['status'] not in states:
            raise MigrationError(f'{vm.name}: migration {info["status"]} '
                                 f'({info.get("error-desc", "no error given")}), '
                                 f'expected {states}')
        return info
    return wait_for(f'{vm.name}: migration status in {states}', observe,
                    lambda info: info.get('status') in states, timeout,
                    interval=0.05)


def start(src, dst, uri, bandwidth=None):
    """Start migrating src to dst (dst may be None: a file target)."""
    if bandwidth:
        src.qmp('migrate-set-parameters', **{'max-bandwidth': bandwidth})
    for vm in (src, dst):
        if vm:
            vm.mark('migrate')
    src.qmp('migrate', uri=uri)


def finish(src, dst, timeout=300):
    """Wait for the migration to complete; return the source's query-migrate."""
    info = wait_status(src, ('completed',), timeout)
    if dst:
        wait_status(dst, ('completed',), timeout)
    for vm in (src, dst):
        if vm:
            vm.mark('after')
    return info


def migrate(src, dst, uri, timeout=300):
    start(src, dst, uri)
    return finish(src, dst, timeout)


def lost_frames(before, after):
    """Frames the guest saw lost between two samples of its counters.

    The guest counts a frame lost when its echo is late and takes that back
    if the echo comes after all: a frame in flight at the switchover can be
    counted lost on the source and arrive on the destination.
    """
    return max(0, after['lost'] - before['lost'])
