"""From Debian's QEMU to ours and back, with dpkg in a scratch root.

At each step the root's qemu-system-x86_64 must start a PC that needs the
packaged firmware (SeaBIOS, iPXE's virtio-net ROM, -kernel's multiboot ROM)
and report the expected version; apt, in simulation on the host, must accept
both packages with their dependencies from Debian's archive.
"""

import json
import os
import subprocess
import tempfile
import unittest

from dpkg_root import (DEBIAN_QEMU, FIRMWARE, OURS, TOP, DpkgRoot, debian_deb,
                       our_deb)

# Debian's QEMU needs its -common half (the TCG accelerator is a module there)
COMMON = 'qemu-system-common'

GUEST = os.path.join(TOP, 'tests', 'guest', 'build', 'guest.elf')
QMP = ['{"execute":"qmp_capabilities"}', '{"execute":"query-status"}',
       '{"execute":"quit"}']


def working_qemu_version(qemu):
    """Start a PC with firmware, a virtio-net ROM and -kernel; its version."""
    r = subprocess.run([qemu, '-M', 'pc', '-accel', 'tcg', '-display', 'none',
                        '-nodefaults', '-netdev', 'user,id=n0',
                        '-device', 'virtio-net-pci,netdev=n0',
                        '-kernel', GUEST, '-qmp', 'stdio'],
                       input='\n'.join(QMP) + '\n', capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f'{qemu} failed ({r.returncode}): {r.stderr}')
    replies = [json.loads(l) for l in r.stdout.splitlines() if l.startswith('{')]
    status = [m['return']['status'] for m in replies
              if isinstance(m.get('return'), dict) and 'status' in m['return']]
    if status != ['running']:
        raise AssertionError(f'{qemu}: not running: {r.stdout}')
    v = replies[0]['QMP']['version']['qemu']
    return (v['major'], v['minor'], v['micro'])


class UpgradeTest(unittest.TestCase):
    def setUp(self):
        self.root = DpkgRoot(tempfile.mkdtemp(prefix='qvp-dpkg-root-'))
        self.ours = our_deb()

    def tearDown(self):
        subprocess.run(['rm', '-rf', self.root.path])

    def assert_installed(self, name, qemu_major):
        self.assertEqual(self.root.status(name), 'install ok installed')
        self.assertEqual(self.root.owner('/usr/bin/qemu-system-x86_64'), name)
        self.assertEqual(working_qemu_version(self.root.qemu)[0], qemu_major)

    def test_debian_to_ours_and_back(self):
        self.root.install(*[debian_deb(n) for n in FIRMWARE])
        debian = debian_deb(DEBIAN_QEMU)
        self.root.install(debian_deb(COMMON), debian)
        debian_major = working_qemu_version(self.root.qemu)[0]
        self.assertNotEqual(debian_major, 10, 'expected bookworm\'s QEMU 7.2')
        # Conflicts + Replaces: dpkg swaps Debian's package out for ours
        r = self.root.install(self.ours)
        self.assertIn(f'Removing {DEBIAN_QEMU}', r.stdout + r.stderr)
        self.assertNotEqual(self.root.status(DEBIAN_QEMU), 'install ok installed')
        self.assert_installed(OURS, 10)
        # Back, as "apt install qemu-system-x86" does it: ours out, Debian's in
        self.root.remove(OURS)
        self.root.install(debian)
        self.assert_installed(DEBIAN_QEMU, debian_major)

    def test_debians_package_does_not_overwrite_ours(self):
        """Without going through removal dpkg must refuse, not half-install."""
        self.root.install(*[debian_deb(n) for n in FIRMWARE])
        self.root.install(self.ours)
        r = self.root.install(debian_deb(COMMON), debian_deb(DEBIAN_QEMU), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assert_installed(OURS, 10)

    def test_apt_resolves_both_packages(self):
        for deb in (self.ours, our_deb('vdpa-persist-dkms')):
            r = subprocess.run(['apt-get', 'install', '-s', '-q', deb],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            name = os.path.basename(deb).split('_')[0]
            self.assertIn(f'Inst {name} ', r.stdout)
