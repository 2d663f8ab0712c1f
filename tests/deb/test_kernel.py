"""In the test VM on Debian's stock 6.1 kernel: the vDPA modules running are
the ones dkms built from our package, and no other module uses the vDPA core.

The root that scripts/debian-kernel.sh unpacked (kernel/build-debian-6.1/root,
QVP_DEB_KERNEL_ROOT to override) holds the kernel and, under updates/dkms,
the modules dkms built; a module is "ours" when the GNU build ID the kernel
reports for it (/sys/module/M/notes) is that of the file there.
"""

import os
import re
import subprocess
import unittest

from tests.lib.paths import TOP

ROOT = os.environ.get('QVP_DEB_KERNEL_ROOT',
                      os.path.join(TOP, 'kernel', 'build-debian-6.1', 'root'))
DKMS_CONF = os.path.join(TOP, 'packaging', 'dkms', 'dkms.conf')
# What the VM loads; the parents for hardware stay unloaded
LOADED = ('vdpa', 'vringh', 'vhost_vdpa', 'virtio_vdpa', 'vdpa_sim',
          'vdpa_sim_net', 'vduse')


def dkms_modules():
    with open(DKMS_CONF) as f:
        return re.findall(r'^BUILT_MODULE_NAME\[\d+\]="(.*)"', f.read(), re.M)


def kver():
    return os.listdir(os.path.join(ROOT, 'lib', 'modules'))[0]


def file_build_id(path):
    out = subprocess.run(['readelf', '-n', path], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r'Build ID: ([0-9a-f]+)', out).group(1)


def loaded_build_id(module):
    with open(f'/sys/module/{module}/notes/.note.gnu.build-id', 'rb') as f:
        note = f.read()
    namesz = int.from_bytes(note[0:4], 'little')
    descsz = int.from_bytes(note[4:8], 'little')
    start = 12 + (namesz + 3) // 4 * 4
    return note[start:start + descsz].hex()


class DebianKernelTest(unittest.TestCase):
    def test_stock_debian_kernel(self):
        release = os.uname().release
        self.assertEqual(release, kver())
        with open('/proc/version') as f:
            self.assertIn('Debian', f.read())

    def test_vdpa_modules_are_the_packaged_ones(self):
        updates = os.path.join(ROOT, 'lib', 'modules', kver(), 'updates', 'dkms')
        wrong = []
        for m in LOADED:
            if m not in dkms_modules() or not os.path.isdir(f'/sys/module/{m}'):
                wrong.append(f'{m}: not loaded, or not in the package')
            elif loaded_build_id(m) != file_build_id(os.path.join(updates, f'{m}.ko')):
                wrong.append(f'{m}: the loaded module is not the one dkms built')
        self.assertEqual(wrong, [])

    def test_only_packaged_modules_use_the_vdpa_core(self):
        holders = os.listdir('/sys/module/vdpa/holders')
        self.assertTrue(holders)
        self.assertEqual(sorted(set(holders) - set(dkms_modules())), [])
