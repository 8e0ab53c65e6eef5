#!/bin/sh
# dbus-run-session's bus daemon, for the desktop services it starts on
# demand (the notification server, at-spi's registry):
# - its standard output goes to standard error. The services inherit it,
#   and it is the test's TAP stream: whatever they print there breaks it.
#   dbus-run-session reads the bus address from a pipe of its own.
# - without meson's G_DEBUG=fatal-warnings, and with NO_AT_BRIDGE=1: those
#   services are not ours, and a warning of theirs (xfce4-notifyd's about a
#   missing accessibility bus, on a machine without at-spi) must not kill
#   them with SIGTRAP. Our own programs keep the fatal warnings.
#
# SPDX-License-Identifier: BSD-3-Clause
exec env -u G_DEBUG NO_AT_BRIDGE=1 dbus-daemon "$@" >&2
