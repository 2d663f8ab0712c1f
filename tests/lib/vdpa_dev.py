"""What iproute2's vdpa tool says about a vdpa device in the test VM."""

import json
import subprocess


def device_mac(name):
    """The MAC in the device's virtio-net config space ("vdpa0")."""
    out = subprocess.run(['vdpa', '-j', 'dev', 'config', 'show', name],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)['config'][name]['mac']
