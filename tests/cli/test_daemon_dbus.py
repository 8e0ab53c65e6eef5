"""io.netbird.Daemon1 as a D-Bus client other than `netbird` sees it (the
tray, a script with Gio): the daemon on a temp socket in a namespace of the
test's making, with a real netbird-management and netbird-signal on its
loopback. Properties follow the tunnel through PropertiesChanged, so a
client never polls; errors carry their io.netbird.Daemon1.Error names.

  test_daemon_dbus.py   (NETBIRD_CLI, NETBIRD_MANAGEMENT, NETBIRD_SIGNAL)

SPDX-License-Identifier: BSD-3-Clause
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from gi.repository import Gio, GLib

NETBIRD = os.environ.get("NETBIRD_CLI")
MANAGEMENT = os.environ.get("NETBIRD_MANAGEMENT")
SIGNAL = os.environ.get("NETBIRD_SIGNAL")
IFACE = "io.netbird.Daemon1"
PATH = "/io/netbird/Daemon"


def wait_until(predicate, timeout=20.0, context=None):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        if context is not None:
            context.iteration(False)
        time.sleep(0.02)
    return True


class DaemonDBusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (network namespace, TUN device)")
        cls.tmp = tempfile.mkdtemp(prefix="nb-cli-dbus-")
        cls.ns = "nbclidbus-%d" % (os.getpid() % 100000)
        cls.ifname = "nbd%d" % (os.getpid() % 100000)
        cls.procs = []
        try:
            cls._start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        subprocess.run(["ip", "netns", "add", cls.ns], check=True)
        subprocess.run(["ip", "-n", cls.ns, "link", "set", "lo", "up"], check=True)
        cls.mgmt_url = "http://127.0.0.1:33073"
        with open(os.path.join(cls.tmp, "management.json"), "w") as f:
            json.dump({"listen": "127.0.0.1:33073",
                       "data_dir": os.path.join(cls.tmp, "management"),
                       "signal": {"uri": "http://127.0.0.1:10000"}}, f)
        cls._spawn([SIGNAL, "--listen", "127.0.0.1:10000"], "signal.log")
        cls._spawn([MANAGEMENT, "--config", os.path.join(cls.tmp, "management.json")],
                   "management.log")
        creds = os.path.join(cls.tmp, "management", "initial-credentials.json")
        if not wait_until(lambda: os.path.exists(creds) and os.path.getsize(creds) > 0):
            raise RuntimeError("netbird-management did not start")
        with open(creds) as f:
            cls.setup_key = json.load(f)["setup_key"]
        cls.socket = os.path.join(cls.tmp, "daemon.sock")
        cls.daemon_log = os.path.join(cls.tmp, "daemon.log")
        cls.daemon = cls._spawn([NETBIRD, "service", "run",
                                 "-c", os.path.join(cls.tmp, "client", "config.json"),
                                 "--daemon-addr", "unix://" + cls.socket, "-l", "debug"],
                                "daemon.log")
        if not wait_until(lambda: os.path.exists(cls.socket)):
            raise RuntimeError("the daemon did not make its socket")

    @classmethod
    def _spawn(cls, argv, log):
        out = open(os.path.join(cls.tmp, log), "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", cls.ns] + argv,
                                stdout=out, stderr=subprocess.STDOUT)
        out.close()
        cls.procs.append(proc)
        return proc

    @classmethod
    def tearDownClass(cls):
        for proc in reversed(getattr(cls, "procs", [])):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        subprocess.run(["ip", "netns", "del", cls.ns], stderr=subprocess.DEVNULL)
        try:
            os.unlink("/var/run/wireguard/%s.sock" % cls.ifname)
        except OSError:
            pass
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        self.context = GLib.MainContext.default()
        self.connection = Gio.DBusConnection.new_for_address_sync(
            "unix:path=" + self.socket,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        self.proxy = Gio.DBusProxy.new_sync(self.connection, Gio.DBusProxyFlags.NONE, None,
                                            None, PATH, IFACE, None)
        self.changes = []
        self.proxy.connect("g-properties-changed", self._on_changed)

    def tearDown(self):
        self.connection.close_sync(None)

    def _on_changed(self, proxy, changed, invalidated):
        self.changes.append(changed.unpack())

    def call(self, method, args=None, timeout=60000):
        """A call that lets the main context run, so signals arrive."""
        result = {}

        def done(proxy, res):
            try:
                result["value"] = proxy.call_finish(res)
            except GLib.Error as e:
                result["error"] = e

        self.proxy.call(method, args, Gio.DBusCallFlags.NONE, timeout, None, done)
        while not result:
            self.context.iteration(True)
        if "error" in result:
            raise result["error"]
        return result["value"]

    def prop(self, name):
        value = self.proxy.get_cached_property(name)
        return value.unpack() if value is not None else None

    def options(self, **kwargs):
        return GLib.Variant("(a{sv})", (kwargs,))

    def test_1_properties_of_a_fresh_daemon(self):
        self.assertEqual(self.prop("DaemonStatus"), "Idle")
        self.assertRegex(self.prop("Version"), r"^\d+\.\d+\.\d+$")
        self.assertEqual(len(self.prop("PublicKey")), 44)
        self.assertEqual(self.prop("PeersTotal"), 0)

    def test_2_invalid_options(self):
        with self.assertRaises(GLib.Error) as cm:
            self.call("Up", self.options(**{"wireguard-port": GLib.Variant("s", "51820")}))
        self.assertEqual(Gio.DBusError.get_remote_error(cm.exception),
                         "org.freedesktop.DBus.Error.InvalidArgs")
        self.assertIn("wireguard-port", cm.exception.message)
        with self.assertRaises(GLib.Error) as cm:
            self.call("Up", self.options(**{"frobnicate": GLib.Variant("b", True)}))
        self.assertEqual(Gio.DBusError.get_remote_error(cm.exception),
                         "org.freedesktop.DBus.Error.InvalidArgs")
        self.assertIn("unknown option 'frobnicate'", cm.exception.message)
        with self.assertRaises(GLib.Error) as cm:
            self.call("Up", self.options(config=GLib.Variant("s", "/elsewhere/config.json")))
        self.assertIn("restart it", cm.exception.message)
        self.assertEqual(self.prop("DaemonStatus"), "Idle")

    def test_3_wrong_setup_key_has_its_error_name(self):
        with self.assertRaises(GLib.Error) as cm:
            self.call("Up", self.options(**{
                "management-url": GLib.Variant("s", self.mgmt_url),
                "setup-key": GLib.Variant("s", "00000000-0000-4000-8000-000000000000"),
                "interface-name": GLib.Variant("s", self.ifname)}))
        self.assertEqual(Gio.DBusError.get_remote_error(cm.exception),
                         "io.netbird.Daemon1.Error.SetupKeyInvalid")

    def test_4_up_status_and_down_through_properties_changed(self):
        self.call("Up", self.options(**{
            "management-url": GLib.Variant("s", self.mgmt_url),
            "setup-key": GLib.Variant("s", self.setup_key),
            "hostname": GLib.Variant("s", "dbus-peer"),
            "interface-name": GLib.Variant("s", self.ifname),
            "wireguard-port": GLib.Variant("q", 51999),
            "block-inbound": GLib.Variant("b", True)}))
        self.assertTrue(wait_until(lambda: self.prop("DaemonStatus") == "Connected",
                                   context=self.context))
        # Pushed, not polled: the proxy's cache moved through PropertiesChanged.
        statuses = [c["DaemonStatus"] for c in self.changes if "DaemonStatus" in c]
        self.assertEqual(statuses[-1], "Connected")
        self.assertTrue(wait_until(lambda: self.prop("ManagementConnected") is True,
                                   context=self.context))
        self.assertRegex(self.prop("Address"), r"^100\.\d+\.\d+\.\d+/\d+$")
        self.assertTrue(self.prop("Fqdn").startswith("dbus-peer."))

        status = self.call("GetStatus").unpack()[0]
        self.assertEqual(status["daemonStatus"], "Connected")
        self.assertEqual(status["managementUrl"], self.mgmt_url)
        self.assertEqual(status["interfaceName"], self.ifname)
        self.assertEqual(status["wireguardPort"], 51999)
        self.assertEqual(status["netbirdIp"], self.prop("Address"))
        self.assertEqual(status["peers"], [])
        with open(os.path.join(self.tmp, "client", "config.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved["management_url"], self.mgmt_url)
        self.assertEqual(saved["wireguard_port"], 51999)
        self.assertTrue(saved["block_inbound"])

        self.changes.clear()
        self.call("Down")
        self.assertTrue(wait_until(lambda: any(c.get("DaemonStatus") == "Idle"
                                               for c in self.changes), context=self.context))
        self.assertEqual(self.prop("DaemonStatus"), "Idle")

    def test_5_daemon_logged_the_calls(self):
        with open(self.daemon_log) as f:
            log = f.read()
        self.assertIn("Up requested with a setup key", log)
        self.assertIn("Down requested", log)

    def test_6_another_programs_socket(self):
        """A D-Bus server that is not the daemon: the CLI says so, exit 3."""
        path = os.path.join(self.tmp, "other.sock")
        observer = Gio.DBusAuthObserver.new()
        server = Gio.DBusServer.new_sync("unix:path=" + path, Gio.DBusServerFlags.NONE,
                                         Gio.dbus_generate_guid(), observer, None)
        connections = []
        server.connect("new-connection", lambda s, c: connections.append(c) or True)
        server.start()
        try:
            cli = subprocess.Popen([NETBIRD, "status", "--daemon-addr", "unix://" + path],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertTrue(wait_until(lambda: cli.poll() is not None, timeout=40,
                                       context=self.context))
            err = cli.stderr.read().decode()
            cli.stdout.close()
            cli.stderr.close()
            self.assertEqual(cli.returncode, 3, err)
            self.assertIn("no NetBird daemon answers", err)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
