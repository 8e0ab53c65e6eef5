"""netbird-gtk on a real desktop (TAP output).

Runs inside `dbus-run-session` (the session bus). The test starts Xvfb,
a Management and Signal in a namespace with daemon A (the one the tray
watches), and daemons B and C in two more namespaces behind veths, so A's
network map holds two peers. Then:

  1. no StatusNotifierWatcher on the bus: netbird-gtk says so once, shows
     its window and exits 0 on Quit;
  2. xfce4-panel with only a systray plugin (from an xfconf channel file in
     the test's own $HOME) hosts the item: registered with the watcher, its
     icon read and drawn in the panel (screenshot);
  3. Connect and Disconnect through com.canonical.dbusmenu Event() bring
     daemon A up and down, the icon follows (IconName and the panel's
     pixels);
  4. Activate() opens the window, which lists the two peers (screenshot);
  5. daemon A killed: the state goes to unavailable; restarted: back to
     connected;
  6. Quit from the menu: exit 0.

Screenshots stay in NB_GTK_SCREENSHOT_DIR; their paths are printed.

  dbus-run-session -- /usr/bin/python3 test_gtk_tray.py
    (NETBIRD_CLI, NETBIRD_GTK, NETBIRD_MANAGEMENT, NETBIRD_SIGNAL)

SPDX-License-Identifier: BSD-3-Clause
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

NETBIRD = os.environ.get("NETBIRD_CLI")
NETBIRD_GTK = os.environ.get("NETBIRD_GTK")
MANAGEMENT = os.environ.get("NETBIRD_MANAGEMENT")
SIGNAL = os.environ.get("NETBIRD_SIGNAL")
SHOTS = os.environ.get("NB_GTK_SCREENSHOT_DIR", tempfile.gettempdir())
CONVERT = "/usr/bin/convert"   # ImageMagick's, whatever else is on PATH
IMPORT = "/usr/bin/import"
SCREEN = (1024, 600)
PANEL_HEIGHT = 32

PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="%d"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
""" % PANEL_HEIGHT

# xfce4-notifyd, the desktop's notification server, keeps a log of what it
# showed: the test reads it there.
NOTIFYD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-notifyd" version="1.0">
  <property name="notification-log" type="bool" value="true"/>
  <property name="log-level" type="uint" value="1"/>
  <property name="log-level-apps" type="uint" value="0"/>
</channel>
"""

# The icons' disc colours (netbird-gtk/data/icons/.../status/*.svg).
GREEN = (0x26, 0xa2, 0x69)
GREY = (0x77, 0x76, 0x7b)
RED = (0xc0, 0x1c, 0x28)

tests_run = 0
failed = False


def ok(name, cond, diag=""):
    global tests_run, failed
    tests_run += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", tests_run, name), flush=True)
    if not cond:
        failed = True
        for line in str(diag).splitlines()[-40:]:
            print("# " + line, flush=True)
    return cond


def bail(message):
    print("Bail out! " + message, flush=True)
    raise SystemExit(1)


context = GLib.MainContext.default()


def spin(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while context.iteration(False):
            pass
        time.sleep(0.02)


# Waits end as soon as what they wait for happens; the margin is for the
# sanitizer build on a loaded machine, where GTK takes seconds to map a
# window (once over 20 s on a fresh root).
WAIT_MARGIN = 3


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout * WAIT_MARGIN
    while True:
        try:
            if predicate():
                return True
        except GLib.Error:
            pass
        if time.monotonic() > deadline:
            return False
        spin(0.1)


class World:
    """Everything the test starts, and its removal."""

    def __init__(self):
        self.tag = os.getpid() % 100000
        self.tmp = tempfile.mkdtemp(prefix="nb-gtk-tray-")
        self.procs = {}
        self.namespaces = ["nbgs-%d" % self.tag, "nbgb-%d" % self.tag, "nbgc-%d" % self.tag]
        self.ifnames = ["nbga%d" % self.tag, "nbgb%d" % self.tag, "nbgc%d" % self.tag]
        self.session = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    def log(self, name):
        return os.path.join(self.tmp, name + ".log")

    def spawn(self, name, argv, env=None, ns=None):
        out = open(self.log(name), "ab")
        if ns is not None:
            argv = ["ip", "netns", "exec", ns] + argv
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        out.close()
        self.procs[name] = proc
        return proc

    def stop(self, name, sig=signal.SIGTERM):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc is not None else None
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def cleanup(self):
        for name in reversed(list(self.procs)):
            self.stop(name)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        for ifname in self.ifnames:
            try:
                os.unlink("/var/run/wireguard/%s.sock" % ifname)
            except OSError:
                pass
        shutil.rmtree(self.tmp, True)

    # -- the desktop ------------------------------------------------------

    def start_desktop(self):
        home = os.path.join(self.tmp, "home")
        channel_dir = os.path.join(home, ".config", "xfce4", "xfconf", "xfce-perchannel-xml")
        os.makedirs(channel_dir)
        with open(os.path.join(channel_dir, "xfce4-panel.xml"), "w") as f:
            f.write(PANEL_XML)
        with open(os.path.join(channel_dir, "xfce4-notifyd.xml"), "w") as f:
            f.write(NOTIFYD_XML)
        self.notifyd_log = os.path.join(home, ".cache", "xfce4", "notifyd", "log")
        runtime = os.path.join(self.tmp, "runtime")
        os.mkdir(runtime, 0o700)
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                                 "%dx%dx24" % SCREEN, "-nolisten", "tcp"],
                                pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                                stderr=open(self.log("xvfb"), "ab"))
        self.procs["xvfb"] = xvfb
        os.close(write_fd)
        display = b""
        with os.fdopen(read_fd, "rb") as r:
            display = r.readline().strip()
        if not display:
            bail("Xvfb did not start")
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                        XDG_CACHE_HOME=os.path.join(home, ".cache"),
                        XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                        XDG_RUNTIME_DIR=runtime, DISPLAY=":" + display.decode(),
                        GDK_BACKEND="x11", GSK_RENDERER="cairo", NO_AT_BRIDGE="1",
                        GTK_A11Y="none", LANG="C.UTF-8", LC_ALL="C.UTF-8",
                        GSETTINGS_BACKEND="keyfile")
        self.env.pop("G_DEBUG", None)   # a desktop without a session manager warns
        # Services the bus starts (xfconfd) must see this $HOME too.
        self.session.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "UpdateActivationEnvironment",
                               GLib.Variant("(a{ss})", ({k: self.env[k] for k in (
                                   "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                   "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "DISPLAY")},)),
                               None, Gio.DBusCallFlags.NONE, -1, None)

    def has_owner(self, name):
        reply = self.session.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       GLib.Variant("(s)", (name,)), None,
                                       Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()[0]

    def screenshot(self, name, window=None):
        path = os.path.join(SHOTS, name)
        argv = [IMPORT, "-window", window or "root", path]
        subprocess.run(argv, env=self.env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return path

    # -- the network --------------------------------------------------------

    def start_network(self):
        ns_s, ns_b, ns_c = self.namespaces
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "add", ns], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns_s, "addr", "add", "198.18.20.1/32", "dev", "lo"], check=True)
        subprocess.run(["ip", "netns", "exec", ns_s, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
                       check=True)
        for i, ns in ((1, ns_b), (2, ns_c)):
            here, there = "nbgv%d-%d" % (i, self.tag), "nbgp%d-%d" % (i, self.tag)
            subprocess.run(["ip", "link", "add", here, "netns", ns_s, "type", "veth", "peer",
                            "name", there, "netns", ns], check=True)
            subprocess.run(["ip", "-n", ns_s, "addr", "add", "198.18.2%d.1/24" % i, "dev", here],
                           check=True)
            subprocess.run(["ip", "-n", ns, "addr", "add", "198.18.2%d.2/24" % i, "dev", there],
                           check=True)
            subprocess.run(["ip", "-n", ns_s, "link", "set", here, "up"], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", there, "up"], check=True)
            subprocess.run(["ip", "-n", ns, "route", "add", "default", "via", "198.18.2%d.1" % i],
                           check=True)
        self.mgmt_url = "http://198.18.20.1:33073"
        with open(os.path.join(self.tmp, "management.json"), "w") as f:
            json.dump({"listen": "198.18.20.1:33073",
                       "data_dir": os.path.join(self.tmp, "management"),
                       "signal": {"uri": "http://198.18.20.1:10000"}}, f)
        self.spawn("signal", [SIGNAL, "--listen", "198.18.20.1:10000"], ns=ns_s)
        self.spawn("management", [MANAGEMENT, "--config", os.path.join(self.tmp, "management.json")],
                   ns=ns_s)
        creds = os.path.join(self.tmp, "management", "initial-credentials.json")
        if not wait_until(lambda: os.path.exists(creds) and os.path.getsize(creds) > 0):
            bail("netbird-management did not start")
        with open(creds) as f:
            self.setup_key = json.load(f)["setup_key"]

    def socket(self, name):
        return os.path.join(self.tmp, name + ".sock")

    def start_daemon(self, name, ns):
        self.spawn("daemon-" + name, [NETBIRD, "service", "run",
                                      "-c", os.path.join(self.tmp, name, "config.json"),
                                      "--daemon-addr", "unix://" + self.socket(name),
                                      "-l", "debug"], ns=ns)
        if not wait_until(lambda: os.path.exists(self.socket(name)), 10):
            bail("daemon %s did not make its socket" % name)

    def daemon_proxy(self, name):
        connection = Gio.DBusConnection.new_for_address_sync(
            "unix:path=" + self.socket(name), Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT,
            None, None)
        return Gio.DBusProxy.new_sync(connection, Gio.DBusProxyFlags.NONE, None, None,
                                      "/io/netbird/Daemon", "io.netbird.Daemon1", None)

    def daemon_call(self, name, method, options, index):
        proxy = self.daemon_proxy(name)
        opts = {"management-url": GLib.Variant("s", self.mgmt_url),
                "setup-key": GLib.Variant("s", self.setup_key),
                "hostname": GLib.Variant("s", "peer-" + name),
                "interface-name": GLib.Variant("s", self.ifnames[index]),
                "wireguard-port": GLib.Variant("q", 51900 + index)}
        opts.update(options)
        proxy.call_sync(method, GLib.Variant("(a{sv})", (opts,)), Gio.DBusCallFlags.NONE,
                        120000, None)
        proxy.get_connection().close_sync(None)

    def daemon_status(self, name):
        proxy = self.daemon_proxy(name)
        value = proxy.get_cached_property("DaemonStatus").unpack()
        proxy.get_connection().close_sync(None)
        return value


def pixels(path, box):
    """The RGB triples of a region (x, y, w, h) of a PNG."""
    x, y, w, h = box
    raw = subprocess.run([CONVERT, path, "-crop", "%dx%d+%d+%d" % (w, h, x, y), "+repage",
                          "-depth", "8", "rgb:-"], check=True, capture_output=True).stdout
    return [tuple(raw[i:i + 3]) for i in range(0, len(raw) - 2, 3)]


def count_near(pix, colour, tolerance=24):
    return sum(1 for p in pix if all(abs(a - b) <= tolerance for a, b in zip(p, colour)))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def window_id(world, title):
    out = subprocess.run(["xwininfo", "-root", "-tree"], env=world.env, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if '"%s"' % title in line:
            return line.split()[0]
    return None


class Tray:
    """netbird-gtk's item and menu as a tray host sees them."""

    def __init__(self, world, bus_name):
        self.world = world
        self.bus_name = bus_name
        self.item = Gio.DBusProxy.new_sync(world.session, Gio.DBusProxyFlags.NONE, None, bus_name,
                                           "/StatusNotifierItem", "org.kde.StatusNotifierItem", None)

    def prop(self, name):
        reply = self.world.session.call_sync(self.bus_name, "/StatusNotifierItem",
                                             "org.freedesktop.DBus.Properties", "Get",
                                             GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", name)),
                                             None, Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def layout(self):
        menu = self.prop("Menu")
        reply = self.world.session.call_sync(self.bus_name, menu, "com.canonical.dbusmenu",
                                             "GetLayout", GLib.Variant("(iias)", (0, -1, [])),
                                             None, Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[1]

    def items(self):
        """{label: (id, visible, enabled)} of the menu's entries."""
        result = {}
        for child in self.layout()[2]:
            item_id, props = child[0], child[1]
            if "label" in props:
                result[props["label"]] = (item_id, props.get("visible", True),
                                          props.get("enabled", True))
        return result

    def click(self, label):
        item_id, visible, enabled = self.items()[label]
        menu = self.prop("Menu")
        self.world.session.call_sync(self.bus_name, menu, "com.canonical.dbusmenu", "Event",
                                     GLib.Variant("(isvu)", (item_id, "clicked",
                                                             GLib.Variant("s", ""), 0)),
                                     None, Gio.DBusCallFlags.NONE, 5000, None)
        return visible and enabled

    def activate(self):
        self.world.session.call_sync(self.bus_name, "/StatusNotifierItem",
                                     "org.kde.StatusNotifierItem", "Activate",
                                     GLib.Variant("(ii)", (0, 0)), None,
                                     Gio.DBusCallFlags.NONE, 5000, None)


def start_app(world, name):
    env = dict(world.env, G_MESSAGES_DEBUG="netbird-gtk")
    if "ASAN_OPTIONS" in env:
        # Whole stacks, so the suppressions can name the desktop libraries'
        # own process-lifetime caches (fontconfig, the GL loader) and
        # nothing of ours hides behind them.
        env["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
        env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "lsan-gtk.supp")
    proc = world.spawn(name, [NETBIRD_GTK, "--daemon-addr", "unix://" + world.socket("a")], env=env)
    return proc


def app_action(world, method, args):
    """org.gtk.Actions on the application, as a desktop shell calls it."""
    signature = {"Activate": "(sava{sv})", "SetState": "(sva{sv})"}[method]
    world.session.call_sync("io.netbird.Gtk", "/io/netbird/Gtk", "org.gtk.Actions", method,
                            GLib.Variant(signature, args), None, Gio.DBusCallFlags.NONE, 5000,
                            None)


def quit_app_by_action(world):
    app_action(world, "Activate", ("quit", [], {}))


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (network namespaces, TUN devices)")
        return 0
    for tool in ("Xvfb", "xfce4-panel", "xwininfo", IMPORT, CONVERT):
        if shutil.which(tool) is None:
            bail("%s is missing (apt-get install xvfb xfce4-panel x11-utils imagemagick)" % tool)
    world = World()
    try:
        run(world)
    finally:
        if failed:
            for name in ("app-nowatcher", "app", "panel", "daemon-a", "daemon-b"):
                text = read(world.log(name))
                if text:
                    print("# --- %s.log" % name)
                    for line in text.splitlines()[-30:]:
                        print("# " + line)
        world.cleanup()
    print("1..%d" % tests_run)
    return 1 if failed else 0


def run(world):
    world.start_desktop()
    world.start_network()
    ns_s, ns_b, ns_c = world.namespaces
    world.start_daemon("a", ns_s)
    world.start_daemon("b", ns_b)
    world.start_daemon("c", ns_c)
    world.daemon_call("b", "Up", {}, 1)
    world.daemon_call("c", "Up", {}, 2)

    bad = subprocess.run([NETBIRD_GTK, "--daemon-addr", "tcp://127.0.0.1:1"], env=world.env,
                         capture_output=True, text=True, timeout=30)
    ok("--daemon-addr that is not unix:///PATH: exit 2 and why",
       bad.returncode == 2 and "not a Unix socket" in bad.stderr, bad.stderr)

    # -- 1. No StatusNotifierWatcher ---------------------------------------
    ok("no StatusNotifierWatcher on the bus yet",
       not world.has_owner("org.kde.StatusNotifierWatcher"))
    app = start_app(world, "app-nowatcher")
    log = world.log("app-nowatcher")
    ok("without a tray host the app says so",
       wait_until(lambda: "No system tray" in read(log), 20), read(log))
    ok("... and shows its window",
       wait_until(lambda: "window: shown" in read(log) and window_id(world, "NetBird"), 20),
       read(log))
    ok("... once", read(log).count("No system tray") == 1, read(log))
    ok("... and reaches the daemon",
       wait_until(lambda: "state: unavailable -> disconnected" in read(log), 20), read(log))
    # A fresh daemon knows only NetBird's public Management, which the
    # namespace cannot reach: Connect fails, and the window says why.
    app_action(world, "Activate", ("connect", [], {}))
    ok("Connect on a fresh daemon, Management unreachable: error state",
       wait_until(lambda: "-> error: Management at" in read(log), 30), read(log))
    # The administrator sets the Management URL; the peer is still unknown
    # there: Connect is refused for want of a setup key, and the app asks
    # for one.
    proxy = world.daemon_proxy("a")
    try:
        proxy.call_sync("Up", GLib.Variant("(a{sv})", ({"management-url": GLib.Variant(
            "s", world.mgmt_url)},)), Gio.DBusCallFlags.NONE, 30000, None)
        refused = None
    except GLib.Error as e:
        refused = Gio.DBusError.get_remote_error(e)
    proxy.get_connection().close_sync(None)
    ok("(the daemon saved the URL and wants a setup key)",
       refused == "io.netbird.Daemon1.Error.NeedsSetupKey", refused)
    # The daemon went Connecting and then NeedsLogin; Connect is disabled
    # while the app shows Connecting, so the click comes once the app
    # shows what the daemon ended in, as a user's would.
    ok("the app follows the daemon to needs login",
       wait_until(lambda: "-> needs-login" in read(log), 30), read(log))
    app_action(world, "Activate", ("connect", [], {}))
    ok("... and Settings opens for the setup key",
       wait_until(lambda: window_id(world, "NetBird Settings") is not None, 20), read(log))
    autostart = os.path.join(world.env["XDG_CONFIG_HOME"], "autostart", "io.netbird.Gtk.desktop")
    app_action(world, "SetState", ("autostart", GLib.Variant("b", True), {}))
    ok("'start on login' writes the autostart entry, with the daemon address",
       wait_until(lambda: "--daemon-addr unix://" + world.socket("a") in read(autostart), 10),
       read(autostart) + read(log))
    app_action(world, "SetState", ("autostart", GLib.Variant("b", False), {}))
    ok("... and turned off removes it", wait_until(lambda: not os.path.exists(autostart), 10),
       read(log))
    quit_app_by_action(world)
    try:
        rc = app.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    ok("Quit: the app exits with 0", rc == 0, "exit status %s\n%s" % (rc, read(log)))
    world.procs.pop("app-nowatcher", None)
    ok("no critical or warning from the app",
       "CRITICAL" not in read(log) and "WARNING" not in read(log), read(log))

    # A joins the network but stays down: Connect in the menu brings it up.
    world.daemon_call("a", "Login", {}, 0)
    ok("daemon A logged in and idle", world.daemon_status("a") == "Idle", world.daemon_status("a"))

    # -- 2. xfce4-panel hosts the icon ---------------------------------------
    world.spawn("panel", ["xfce4-panel", "--disable-wm-check"], env=world.env)
    ok("xfce4-panel's systray owns org.kde.StatusNotifierWatcher",
       wait_until(lambda: world.has_owner("org.kde.StatusNotifierWatcher"), 60),
       read(world.log("panel")))
    spin(1.0)
    before = world.screenshot("gtk-panel-empty.png")
    app = start_app(world, "app")
    log = world.log("app")
    bus_name = "org.kde.StatusNotifierItem-%d-1" % app.pid

    def registered():
        reply = world.session.call_sync("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                                        "org.freedesktop.DBus.Properties", "Get",
                                        GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher",
                                                              "RegisteredStatusNotifierItems")),
                                        None, Gio.DBusCallFlags.NONE, 5000, None)
        return any(item.startswith(bus_name) for item in reply.unpack()[0])

    ok("the item is registered with the watcher", wait_until(registered, 20), read(log))
    ok("the panel read the icon", wait_until(lambda: "read the icon" in read(log), 20), read(log))
    tray = Tray(world, bus_name)
    ok("icon: disconnected",
       wait_until(lambda: tray.prop("IconName") == "netbird-disconnected", 20),
       "%s\n%s" % (tray.prop("IconName"), read(log)))
    ok("no window while the tray has a host", window_id(world, "NetBird") is None)
    items = tray.items()
    ok("menu: Connect shown, Disconnect hidden, Quit there",
       items.get("Connect", (0, False))[1] and not items.get("Disconnect", (0, True))[1]
       and "Quit" in items, items)
    ok("menu: a status line, Peers, Settings, About, copy my address",
       all(k in items for k in ("Peers…", "Settings…", "About", "Copy my address"))
       and any(label.startswith("Disconnected") for label in items), items)
    menu_path = tray.prop("Menu")

    def menu_error(method, args):
        try:
            world.session.call_sync(bus_name, menu_path, "com.canonical.dbusmenu", method, args,
                                    None, Gio.DBusCallFlags.NONE, 5000, None)
        except GLib.Error as e:
            return Gio.DBusError.get_remote_error(e)
        return None

    ok("dbusmenu: an unknown item is InvalidArgs, for Event and GetLayout",
       menu_error("Event", GLib.Variant("(isvu)", (999, "clicked", GLib.Variant("s", ""), 0)))
       == "org.freedesktop.DBus.Error.InvalidArgs"
       and menu_error("GetLayout", GLib.Variant("(iias)", (-5, -1, [])))
       == "org.freedesktop.DBus.Error.InvalidArgs")
    ok("... and the app still serves its menu", "Quit" in tray.items())
    spin(1.5)
    panel_shot = world.screenshot("gtk-panel-disconnected.png")
    strip = (0, 0, SCREEN[0], PANEL_HEIGHT)
    grey = count_near(pixels(panel_shot, strip), GREY)
    ok("the panel draws the disconnected icon (grey disc: %d px)" % grey,
       grey >= 30 and count_near(pixels(before, strip), GREY) < grey, panel_shot)

    # -- 3. Connect and Disconnect through dbusmenu ---------------------------
    # The daemon's PeersChanged, which the window follows instead of polling.
    watcher = world.daemon_proxy("a")
    peers_changed = []
    watcher.connect("g-signal", lambda proxy, sender, name, params:
                    peers_changed.append(name) if name == "PeersChanged" else None)
    ok("menu Connect clicked", tray.click("Connect"))
    ok("daemon A is up", wait_until(lambda: world.daemon_status("a") == "Connected", 60),
       read(world.log("daemon-a")))
    ok("icon: connected", wait_until(lambda: tray.prop("IconName") == "netbird-connected", 20),
       read(log))
    items = tray.items()
    ok("menu: Disconnect shown, Connect hidden, the status line has the address",
       items.get("Disconnect", (0, False))[1] and not items.get("Connect", (0, True))[1]
       and any(label.startswith("Connected: 100.") for label in items), items)
    spin(1.5)
    panel_shot = world.screenshot("gtk-panel-connected.png")
    green = count_near(pixels(panel_shot, strip), GREEN)
    ok("the panel draws the connected icon (green disc: %d px)" % green, green >= 30, panel_shot)
    print("# screenshot: " + panel_shot, flush=True)

    ok("menu 'Copy my address' clicked", tray.click("Copy my address"))
    ok("... the address went to the clipboard",
       wait_until(lambda: "copied 100." in read(log), 10), read(log))
    ok("menu About clicked", tray.click("About"))
    ok("... the About window is shown",
       wait_until(lambda: window_id(world, "About NetBird") is not None, 20), read(log))

    # -- 4. The window with two peers ---------------------------------------
    tray.activate()
    ok("Activate on the item opens the window",
       wait_until(lambda: window_id(world, "NetBird") is not None, 20), read(log))
    ok("the window lists the two peers",
       wait_until(lambda: "window: 2 peers listed" in read(log), 60), read(log))
    # Peers connect on their own time; the list follows PeersChanged.
    wait_until(lambda: world.daemon_proxy("a").get_cached_property("PeersConnected").unpack() == 2,
               60)
    ok("the daemon signalled PeersChanged as its peers connected (%d times)"
       % len(peers_changed), len(peers_changed) >= 1)
    watcher.get_connection().close_sync(None)
    spin(2.0)
    wid = window_id(world, "NetBird")
    window_shot = world.screenshot("gtk-window-peers.png", wid)
    size = subprocess.run([CONVERT, window_shot, "-format", "%w %h %k", "info:"],
                          capture_output=True, text=True).stdout.split()
    ok("window screenshot has content (%s px, %s colours)" % (" x ".join(size[:2]), size[2]),
       len(size) == 3 and int(size[0]) >= 400 and int(size[2]) >= 50, size)
    print("# screenshot: " + window_shot, flush=True)

    # -- 3b. Disconnect ------------------------------------------------------
    ok("menu Disconnect clicked", tray.click("Disconnect"))
    ok("daemon A is down", wait_until(lambda: world.daemon_status("a") == "Idle", 30))
    ok("icon: disconnected again",
       wait_until(lambda: tray.prop("IconName") == "netbird-disconnected", 20), read(log))

    # -- 5. The daemon killed and restarted ----------------------------------
    tray.click("Connect")
    ok("connected again", wait_until(lambda: tray.prop("IconName") == "netbird-connected", 60),
       read(log))
    world.stop("daemon-a", signal.SIGKILL)
    os.unlink(world.socket("a"))
    ok("daemon killed: icon unavailable",
       wait_until(lambda: tray.prop("IconName") == "netbird-error", 20), read(log))
    ok("... the state says why", "state: connected -> unavailable" in read(log), read(log))
    items = tray.items()
    ok("... the menu's status line says so", "Daemon unavailable" in items, items)
    world.start_daemon("a", ns_s)
    ok("daemon restarted: the app reconnects and it is connected again",
       wait_until(lambda: tray.prop("IconName") == "netbird-connected", 90), read(log))
    ok("... after passing through the daemon's own states",
       read(log).count("state: unavailable ->") >= 2, read(log))
    ok("the notification server showed 'connection lost', 'connected again' and peers connecting",
       wait_until(lambda: all(t in read(world.notifyd_log) for t in (
           "NetBird connection lost", "NetBird connected again", "Peer connected")), 20),
       read(world.notifyd_log) + read(log))
    ok("the user's own Disconnect was no 'connection lost'",
       read(world.notifyd_log).count("NetBird connection lost") == 1, read(world.notifyd_log))

    # Notifications turned off (the Settings switch is this GSettings key).
    subprocess.run(["gsettings", "set", "io.netbird.Gtk", "notifications", "false"],
                   env=world.env, check=True)
    world.stop("daemon-a", signal.SIGKILL)
    os.unlink(world.socket("a"))
    ok("notifications off: the drop is not notified",
       wait_until(lambda: "notification (turned off): NetBird connection lost" in read(log), 20)
       and read(world.notifyd_log).count("NetBird connection lost") == 1, read(log))
    world.start_daemon("a", ns_s)
    ok("... and the app is back", wait_until(lambda: tray.prop("IconName") == "netbird-connected",
                                             90), read(log))
    spin(1.0)
    world.screenshot("gtk-panel-after-restart.png")

    # -- Logged out: needs login, and Connect asks for a setup key --------------
    proxy = world.daemon_proxy("a")
    proxy.call_sync("Logout", None, Gio.DBusCallFlags.NONE, 30000, None)
    proxy.get_connection().close_sync(None)
    ok("daemon logged out: icon needs-login",
       wait_until(lambda: tray.prop("IconName") == "netbird-needs-login", 20), read(log))
    items = tray.items()
    ok("... the status line says so and Connect is offered",
       "Needs login" in items and items.get("Connect", (0, False))[1], items)
    ok("... Connect clicked", tray.click("Connect"))
    ok("... opens Settings for the setup key",
       wait_until(lambda: window_id(world, "NetBird Settings") is not None, 20), read(log))
    spin(1.0)
    settings_shot = world.screenshot("gtk-settings.png", window_id(world, "NetBird Settings"))
    print("# screenshot: " + settings_shot, flush=True)

    with open("/proc/%d/status" % app.pid) as f:
        rss = [line.split()[1] for line in f if line.startswith("VmRSS:")]
    print("# netbird-gtk resident memory with window, tray and menu: %s kB" % rss[0], flush=True)

    # -- 6. Quit ---------------------------------------------------------------
    tray.click("Quit")
    try:
        rc = app.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    world.procs.pop("app", None)
    ok("Quit from the menu: exit 0", rc == 0, "exit status %s" % rc)
    ok("the item left the watcher", wait_until(lambda: not registered(), 10))
    ok("no critical or warning from the app",
       "CRITICAL" not in read(log) and "WARNING" not in read(log), read(log))
    print("# screenshots: %s" % " ".join(os.path.join(SHOTS, n) for n in (
        "gtk-panel-disconnected.png", "gtk-panel-connected.png", "gtk-window-peers.png",
        "gtk-panel-after-restart.png", "gtk-settings.png")), flush=True)


if __name__ == "__main__":
    sys.exit(main())
