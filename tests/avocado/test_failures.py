"""A migration that does not finish leaves the source running its traffic."""

from tests.lib import migration
from vdpa_migration import VdpaMigrationTest, free_port

# Slow enough that the migration is still running when it is interrupted
SLOW = 64 << 10
FAST = 1 << 30


class FailureTest(VdpaMigrationTest):
    def slow_migration(self, src):
        uri = f'tcp:127.0.0.1:{free_port()}'
        dst = self.guest('dst', 1, incoming=uri)
        migration.start(src, dst, uri, bandwidth=SLOW)
        migration.wait_status(src, ('active',))
        # The guest runs on, its NIC through SVQ, while RAM is copied
        self.assert_traffic_continues(src)
        self.assertEqual(src.cmd('query-migrate')['status'], 'active')
        return dst

    def migrate_again(self, src):
        self.vms.remove(self.vms[-1])
        uri = f'tcp:127.0.0.1:{free_port()}'
        dst = self.guest('dst2', 1, incoming=uri)
        src.cmd('migrate-set-parameters', **{'max-bandwidth': FAST})
        self.migrate(src, dst, uri)

    def test_cancel_then_migrate(self):
        src = self.running_source()
        dst = self.slow_migration(src)
        src.cmd('migrate_cancel')
        migration.wait_status(src, ('cancelled',))
        dst.vm.wait()           # the destination gives up on its own
        self.assertEqual(src.status(), 'running')
        self.assert_traffic_continues(src)
        self.migrate_again(src)

    def test_destination_killed(self):
        src = self.running_source()
        dst = self.slow_migration(src)
        dst.kill()
        migration.wait_status(src, ('failed',))
        self.assertEqual(src.status(), 'running')
        self.assert_traffic_continues(src)
        self.migrate_again(src)
