"""Live migration over each transport QEMU offers: tcp, unix, exec, file."""

import os

from tests.lib import migration
from vdpa_migration import VdpaMigrationTest


class TransportTest(VdpaMigrationTest):
    def test_tcp(self):
        src, dst, uri = self.tcp_pair()
        self.migrate(src, dst, uri)

    def test_unix(self):
        uri = f'unix:{self.workdir}/migration.sock'
        src = self.running_source()
        dst = self.guest('dst', 1, incoming=uri)
        self.migrate(src, dst, uri)

    def test_exec(self):
        fifo = os.path.join(self.workdir, 'migration.fifo')
        os.mkfifo(fifo)
        src = self.running_source()
        dst = self.guest('dst', 1, incoming=f'exec:cat {fifo}')
        self.migrate(src, dst, f'exec:cat > {fifo}')

    def test_file(self):
        # Not live end to end: the destination starts once the file is whole
        path = os.path.join(self.workdir, 'migration.state')
        src = self.running_source()
        migration.start(src, None, f'file:{path}')
        info = migration.finish(src, None)
        dst = self.guest('dst', 1, incoming=f'file:{path}')
        migration.wait_status(dst, ('completed',))
        dst.mark('after')
        before, after = self.assert_migration(src, dst)
        self.record(src, dst, info, before, after)
