"""The test library, imported as tests.lib.<module>.

No module edits sys.path.  In the test VM, tests/vm/run puts this tree and
QEMU's python/qemu on PYTHONPATH for every command; on the host,
tests/run.py runs `python3 -m tests.lib.tap` from the top of the tree,
which makes the tree importable.
"""
