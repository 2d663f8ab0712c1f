"""make install, for people who do not want packages: with DESTDIR and a
PREFIX other than the default, the installed qemu-system-x86_64 finds its
firmware (relocatable: PREFIX/share/qemu, linked to Debian's) and starts a
PC as the packaged one does."""

import os
import shutil
import subprocess
import tempfile
import unittest

from dpkg_root import TOP
from test_upgrade import working_qemu_version


class InstallTest(unittest.TestCase):
    def test_install_destdir_prefix(self):
        destdir = tempfile.mkdtemp(prefix='qvp-install-')
        try:
            # qemu is built by make check's prerequisites: not from a test
            subprocess.run(['make', '-s', '-o', 'qemu', 'install',
                            f'DESTDIR={destdir}', 'PREFIX=/opt/qvp'],
                           cwd=TOP, check=True, capture_output=True)
            prefix = os.path.join(destdir, 'opt', 'qvp')
            self.assertTrue(os.path.exists(os.path.join(
                prefix, 'share', 'man', 'man1', 'qemu-system-x86_64.1')))
            qemu = os.path.join(prefix, 'bin', 'qemu-system-x86_64')
            self.assertEqual(working_qemu_version(qemu)[0], 10)
        finally:
            shutil.rmtree(destdir)
