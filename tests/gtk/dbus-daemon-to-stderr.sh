#!/bin/sh
# dbus-run-session's bus daemon, with its standard output on standard error.
# The services the bus starts (at-spi's registry, the notification server)
# inherit the daemon's standard output, which is the test's TAP stream;
# whatever they print there would break it. dbus-run-session reads the
# bus address from a pipe of its own, not from standard output.
#
# SPDX-License-Identifier: BSD-3-Clause
exec dbus-daemon "$@" >&2
