"""Where the fork's build products and the runtime firmware are."""

import os

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
QEMU = os.environ.get('QVP_QEMU',
                      os.path.join(TOP, 'qemu', 'build', 'qemu-system-x86_64'))
BZIMAGE = os.environ.get('QVP_BZIMAGE',
                         os.path.join(TOP, 'kernel', 'build', 'arch', 'x86',
                                      'boot', 'bzImage'))
# The stripped QEMU tree has no ROMs: Debian's qemu-system-data, seabios and
# ipxe-qemu (NIC option ROMs).
FIRMWARE_ARGS = ['-L', '/usr/share/qemu', '-L', '/usr/share/seabios',
                 '-L', '/usr/lib/ipxe/qemu']
