#!/usr/bin/env python3
"""A scratch root that dpkg installs packages into, as on a Debian host.

    tests/deb/dpkg_root.py ROOT      Debian's firmware and our QEMU package
                                     into a new ROOT; prints its QEMU
    tests/deb/dpkg_root.py --run CMD...
                                     the same in a new root under out/, CMD
                                     run with {root} replaced by its path,
                                     then the root removed

The root holds only what the packages ship: its binaries run with the host's
libraries, so dpkg is told not to check library dependencies (--force-depends)
and not to look for ldconfig in the root (--force-bad-path); none of the
packages used here has maintainer scripts.  QEMU is relocatable and finds its
firmware under ROOT/usr/share, where the packages put it.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEB_OUT = os.environ.get('QVP_DEB_OUT', os.path.join(TOP, 'out', 'deb'))
DOWNLOADS = os.path.join(TOP, 'downloads', 'deb-test')
SUDO = [] if os.geteuid() == 0 else ['sudo']
# What apt would install as Debian's QEMU for x86 (its candidate versions)
FIRMWARE = ['qemu-system-data', 'seabios', 'ipxe-qemu']
DEBIAN_QEMU = 'qemu-system-x86'
OURS = 'qemu-system-x86-vdpa-persist'


def debian_deb(name):
    """Debian's candidate .deb of name, downloaded once."""
    os.makedirs(DOWNLOADS, exist_ok=True)
    ver = subprocess.run(['apt-cache', 'policy', name], capture_output=True,
                         text=True, check=True).stdout
    cand = [l.split()[1] for l in ver.splitlines() if 'Candidate:' in l][0]
    pattern = f'{name}_{cand.replace(":", "%3a")}_*.deb'  # apt-get's file name
    found = glob.glob(os.path.join(DOWNLOADS, pattern))
    if not found:
        subprocess.run(['apt-get', 'download', '-q', f'{name}={cand}'],
                       cwd=DOWNLOADS, check=True, stdout=subprocess.DEVNULL)
        found = glob.glob(os.path.join(DOWNLOADS, pattern))
    return found[0]


def our_deb(name=OURS):
    found = sorted(glob.glob(os.path.join(DEB_OUT, f'{name}_*.deb')))
    if not found:
        sys.exit(f'no {name} package in {DEB_OUT}: run "make deb"')
    return found[-1]


class DpkgRoot:
    def __init__(self, path):
        self.path = os.path.realpath(path)
        shutil.rmtree(self.path, ignore_errors=True)
        for d in ('info', 'updates'):
            os.makedirs(os.path.join(self.path, 'var', 'lib', 'dpkg', d))
        open(os.path.join(self.path, 'var', 'lib', 'dpkg', 'status'), 'w').close()
        self.qemu = os.path.join(self.path, 'usr', 'bin', 'qemu-system-x86_64')

    def dpkg(self, *args, check=True):
        return subprocess.run(SUDO + ['dpkg', '--root', self.path, '--force-bad-path',
                                      '--force-depends', *args],
                              capture_output=True, text=True, check=check)

    def install(self, *debs, check=True):
        return self.dpkg('-i', *debs, check=check)

    def remove(self, name):
        return self.dpkg('-r', name)

    def status(self, name):
        """dpkg's status of name in the root, e.g. "install ok installed"."""
        r = subprocess.run(['dpkg-query', '--admindir',
                            os.path.join(self.path, 'var', 'lib', 'dpkg'),
                            '-W', '-f', '${Status}', name],
                           capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else 'not-installed'

    def owner(self, path):
        r = subprocess.run(['dpkg-query', '--admindir',
                            os.path.join(self.path, 'var', 'lib', 'dpkg'),
                            '-S', path], capture_output=True, text=True)
        return r.stdout.split(':')[0] if r.returncode == 0 else None


def root_with_ours(path):
    root = DpkgRoot(path)
    root.install(*[debian_deb(n) for n in FIRMWARE])
    root.install(our_deb())
    return root


def main():
    if sys.argv[1] != '--run':
        print(root_with_ours(sys.argv[1]).qemu)
        return
    # Under out/ (the test VM sees it; its /tmp is its own), one per run
    os.makedirs(os.path.join(TOP, 'out'), exist_ok=True)
    path = tempfile.mkdtemp(prefix='deb-root-', dir=os.path.join(TOP, 'out'))
    try:
        root = root_with_ours(path)
        cmd = [a.replace('{root}', root.path) for a in sys.argv[2:]]
        sys.exit(subprocess.run(cmd).returncode)
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == '__main__':
    main()
