#!/bin/bash
# The shared library exports only documented nb_* API (TAP output).
#
# SPDX-License-Identifier: BSD-3-Clause
set -u
failed=0
lib=${1:?usage: test-exports.sh LIBRARY}

echo "1..3"
others=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^nb_' || true)
if [ -z "$others" ]; then
  echo "ok 1 - every exported symbol starts with nb_"
else
  failed=1; echo "not ok 1 - symbols outside nb_ are exported:"; echo "$others" | sed 's/^/# /'
fi

count=$(nm -D --defined-only "$lib" | grep -c ' nb_')
if [ "$count" -gt 10 ]; then
  echo "ok 2 - $count nb_ symbols exported"
else
  failed=1; echo "not ok 2 - only $count nb_ symbols exported"
fi

soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
if [[ "$soname" =~ ^libnetbird-1\.so\.[0-9]+$ ]]; then
  echo "ok 3 - soname $soname carries the ABI version"
else
  failed=1; echo "not ok 3 - soname is '$soname'"
fi
exit $failed
