#!/usr/bin/python3
# wg-normalize.py: put the output of `wg showconf` or `wg show` in an order
# that does not depend on the implementation: peers sorted by public key,
# allowed IPs sorted, the interface name replaced, fields that measure time
# or traffic dropped.
#
# SPDX-License-Identifier: BSD-3-Clause
#
#   wg showconf IF | wg-normalize.py
import re
import sys

DROP = ("latest handshake", "transfer:", "LatestHandshake")


def norm_ips(line):
    key, sep, value = line.partition("=") if "=" in line else line.partition(":")
    items = sorted(i.strip() for i in value.split(",") if i.strip())
    return "%s%s %s" % (key.rstrip(), sep, ", ".join(items))


text = sys.stdin.read()
if "[Peer]" not in text and "peer: " not in text and "[Interface]" not in text:
    # One line per peer (wg show IF FIELD): order is the implementation's.
    lines = []
    for line in text.splitlines():
        if "\t" in line:
            key, _, value = line.partition("\t")
            if "/" in value:
                value = " ".join(sorted(value.split()))
            line = key + "\t" + value
        lines.append(line)
    print("\n".join(sorted(lines)))
    sys.exit(0)
blocks = re.split(r"\n(?=\[Peer\]|peer: )", text.strip())
out = []
for block in blocks:
    lines = []
    for line in block.splitlines():
        line = line.rstrip()
        if not line or any(line.strip().startswith(d) for d in DROP):
            continue
        if line.startswith("interface: "):
            line = "interface: IF"
        if line.strip().lower().startswith(("allowedips", "allowed ips")):
            line = norm_ips(line)
        lines.append(line)
    out.append("\n".join(lines))
print(out[0])
for block in sorted(out[1:]):
    print(block)
