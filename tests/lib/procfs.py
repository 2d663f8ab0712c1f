"""What the kernel says about a QEMU process."""


def pinned_kib(pid):
    """VmPin of a process: the pages vhost-vdpa pinned for it, in KiB."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmPin:'):
                return int(line.split()[1])
    return 0
