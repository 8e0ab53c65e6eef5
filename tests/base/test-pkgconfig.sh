#!/bin/bash
# An application builds against the installed headers and netbird-1.pc, and
# runs (TAP output).
#
# SPDX-License-Identifier: BSD-3-Clause
set -u
build=${1:?usage: test-pkgconfig.sh BUILD_DIR}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

echo "1..3"
if meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest/install.log" 2>&1; then
  echo "ok 1 - meson install into a staging directory"
else
  echo "not ok 1 - meson install failed"; sed 's/^/# /' "$dest/install.log"; exit 1
fi

prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pcdir=$(dirname "$(find "$dest" -name netbird-1.pc | head -1)")
cat > "$dest/app.c" <<'C'
#include <netbird.h>
int
main (void)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  if (!NB_CHECK_VERSION (0, 0, 0) || !nb_check_version (NB_MAJOR_VERSION, 0, 0))
    return 1;
  g_print ("%s\n", nb_key_get_public_base64 (key));
  return 0;
}
C
# Point the staged .pc file at the staging directory, as if installed there.
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$pcdir/netbird-1.pc"
export PKG_CONFIG_PATH=$pcdir
flags=$(pkg-config --cflags --libs netbird-1)
if cc -o "$dest/app" "$dest/app.c" $flags 2>"$dest/cc.log"; then
  echo "ok 2 - an application compiles with pkg-config netbird-1"
else
  echo "not ok 2 - compiling against the installed headers failed"; sed 's/^/# /' "$dest/cc.log"; exit 1
fi

libdir=$(dirname "$(find "$dest" -name 'libnetbird-1.so.*' | head -1)")
out=$(LD_LIBRARY_PATH=$libdir "$dest/app")
if [ ${#out} -eq 44 ]; then
  echo "ok 3 - it runs and prints a public key"
else
  echo "not ok 3 - it printed '$out'"; exit 1
fi
