"""Migrations the guest makes harder: ping-pong, NIC resets, a bigger RAM."""

from tests.lib import migration
from vdpa_migration import VdpaMigrationTest, free_port


class PingPongTest(VdpaMigrationTest):
    def test_a_to_b_to_a(self):
        uri = f'tcp:127.0.0.1:{free_port()}'
        a = self.running_source()
        b = self.guest('b', 1, incoming=uri)
        self.migrate(a, b, uri)
        a.shutdown()            # frees /dev/vhost-vdpa-0 for the way back
        uri = f'tcp:127.0.0.1:{free_port()}'
        a2 = self.guest('a2', 0, incoming=uri)
        self.migrate(b, a2, uri)


class GuestResetsNicTest(VdpaMigrationTest):
    append = 'reset_every=10'

    def test_resets_during_migration(self):
        src, dst, uri = self.tcp_pair()
        migration.start(src, dst, uri, bandwidth=256 << 10)
        migration.wait_status(src, ('active',))
        during = src.counters()
        self.assert_traffic_continues(src)
        self.assertGreater(src.counters()['resets'], during['resets'],
                           'the guest reset no NIC during the migration')
        src.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 30})
        info = migration.finish(src, dst)
        before, after = self.assert_migration(src, dst)
        self.assertGreater(after['resets'], before['resets'])
        self.record(src, dst, info, before, after)


class LargeGuestTest(VdpaMigrationTest):
    mem = '1G'

    def test_1g_guest(self):
        src, dst, uri = self.tcp_pair()
        r = self.migrate(src, dst, uri)
        self.assertGreaterEqual(r['dst_pinned_kib'], 1 << 20)
