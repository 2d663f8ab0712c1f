#!/bin/sh
# check-kconfig.sh FRAGMENT CONFIG: fail if a =y option of the fragment is not
# set in the generated .config (a missing dependency silently drops it).
set -eu
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=y$' "$1" | while read -r line; do
	grep -qx "$line" "$2" || echo "${line%=y}"
done)
if [ -n "$missing" ]; then
	echo "check-kconfig: not set in $2 (missing dependency?):" $missing >&2
	exit 1
fi
