"""A virtio-net-pci NIC on a vhost-vdpa device, as QEMU options.

Every test and tool that gives QEMU such a NIC builds it here: the netdev is
"n0" and the NIC "nic0"; options left at None are QEMU's defaults.
"""

VHOSTDEV = '/dev/vhost-vdpa-0'
# The PCI slot the qtest scenarios put the NIC in (tests/lib/virtio_net.py)
NIC_SLOT = 4


def netdev_options(vhostdev=VHOSTDEV, persist=None, svq=False):
    """-netdev vhost-vdpa options as a dict (also netdev_add's arguments)."""
    opts = {'type': 'vhost-vdpa', 'vhostdev': vhostdev, 'id': 'n0'}
    if persist is not None:
        opts['x-iotlb-persist'] = persist
    if svq:
        opts['x-svq'] = 'on'
    return opts


def nic_options(slot=None, iommu_platform=False, modern_only=False):
    """-device virtio-net-pci options as a dict (also device_add's).

    iommu_platform: DMA through the vIOMMU (a modern-only device then)."""
    opts = {'driver': 'virtio-net-pci', 'netdev': 'n0', 'id': 'nic0'}
    if slot is not None:
        opts['addr'] = f'{slot:02x}.0'
    if iommu_platform:
        opts['iommu_platform'] = 'on'
    if iommu_platform or modern_only:
        opts['disable-legacy'] = 'on'
    return opts


def _option_string(first, opts):
    rest = {k: v for k, v in opts.items() if k != first}
    return ','.join([opts[first]] + [f'{k}={v}' for k, v in rest.items()])


def netdev_args(vhostdev=VHOSTDEV, persist=None, svq=False):
    return ['-netdev', _option_string('type', netdev_options(vhostdev, persist, svq))]


def device_args(slot=None, iommu_platform=False, modern_only=False):
    return ['-device', _option_string('driver', nic_options(slot, iommu_platform,
                                                            modern_only))]


def nic_args(vhostdev=VHOSTDEV, persist=None, svq=False, slot=None,
             iommu_platform=False, modern_only=False):
    """The -netdev and -device arguments of the NIC."""
    return (netdev_args(vhostdev, persist, svq)
            + device_args(slot, iommu_platform, modern_only))
