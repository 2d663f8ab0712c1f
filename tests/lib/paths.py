"""Where the fork's build products are.

Firmware needs no -L: `make qemu` links Debian's into the build tree
(scripts/link-firmware.sh)."""

import os

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
QEMU = os.environ.get('QVP_QEMU',
                      os.path.join(TOP, 'qemu', 'build', 'qemu-system-x86_64'))
# What a test writes for people to read (traces): the VM's shared output
OUT = os.environ.get('QVP_OUT', '/tmp')


def out_path(name):
    return os.path.join(OUT, name)


# The Linux test guest (make guest-linux): kernel/configs/guest.config and the
# static init of tests/guest-linux in an initramfs
# vmlinux, which QEMU boots through its PVH entry: no decompression
GUEST_LINUX_KERNEL = os.path.join(TOP, 'kernel', 'build-guest', 'vmlinux')
GUEST_LINUX_INITRD = os.path.join(TOP, 'tests', 'guest-linux', 'build',
                                  'initramfs.cpio')
