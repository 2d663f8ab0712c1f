#!/bin/sh
# make demo: boot the test VM and run tests/demo.py in it.
set -eu
cd "$(dirname "$0")/.."
mkdir -p out/demo
exec tests/vm/run --vdpa 2 --out out/demo -- python3 tests/demo.py
