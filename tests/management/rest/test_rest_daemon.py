"""The REST API served by the real daemon, `netbird-management --listen
127.0.0.1:PORT --data-dir DIR`, authenticated with the admin token it writes
to DIR/initial-credentials.json; what the API wrote survives a restart.

  test_rest_daemon.py NETBIRD_MANAGEMENT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_user_script import free_port  # noqa: E402

BINARY = None


class Daemon:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([BINARY, "--listen", "127.0.0.1:%d" % self.port,
                                      "--data-dir", data_dir],
                                     stdout=subprocess.DEVNULL)
        creds = os.path.join(data_dir, "initial-credentials.json")
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("netbird-management exited with %d" % self.proc.returncode)
            try:
                if os.path.exists(creds):
                    requests.get(self.url + "/api/peers", timeout=2)
                    break
            except requests.exceptions.ConnectionError:
                pass
            if time.time() > deadline:
                raise RuntimeError("netbird-management did not come up")
            time.sleep(0.05)
        with open(creds) as f:
            self.creds = json.load(f)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class DaemonRestTest(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="nb-rest-daemon-")
        self.daemon = None
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.daemon = Daemon(self.data_dir)
        self.addCleanup(lambda: self.daemon and self.daemon.stop())

    def call(self, method, path, body=None, token=None):
        headers = {"Accept": "application/json"}
        token = token or self.daemon.creds["admin_token"]
        if token != "-":
            headers["Authorization"] = "Token " + token
        return requests.request(method, self.daemon.url + path, headers=headers,
                                data=None if body is None else json.dumps(body), timeout=10)

    def ok(self, method, path, body=None, token=None):
        r = self.call(method, path, body, token)
        self.assertEqual(r.status_code, 200, "%s %s -> %d %s" % (method, path, r.status_code,
                                                                 r.text))
        return r.json()

    def test_credentials_file_is_private(self):
        path = os.path.join(self.data_dir, "initial-credentials.json")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertTrue(self.daemon.creds["admin_token"].startswith("nbp_"))

    def test_no_token_is_401(self):
        r = self.call("GET", "/api/peers", token="-")
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["code"], 401)

    def test_admin_token_is_the_owner(self):
        me = self.ok("GET", "/api/users/current")
        self.assertEqual(me["role"], "owner")
        accounts = self.ok("GET", "/api/accounts")
        self.assertEqual(len(accounts), 1)

    def test_create_and_list_every_resource(self):
        g = self.ok("POST", "/api/groups", {"name": "servers"})
        self.assertIn(g["id"], [x["id"] for x in self.ok("GET", "/api/groups")])
        k = self.ok("POST", "/api/setup-keys", {"name": "k", "type": "one-off",
                                                "expires_in": 86400,
                                                "auto_groups": [g["id"]], "usage_limit": 1})
        self.assertIn(k["id"], [x["id"] for x in self.ok("GET", "/api/setup-keys")])
        p = self.ok("POST", "/api/policies", {"name": "p", "enabled": True, "rules": [
            {"name": "r", "enabled": True, "action": "accept", "bidirectional": True,
             "protocol": "udp", "port_ranges": [{"start": 5000, "end": 5010}],
             "sources": [g["id"]], "destinations": [g["id"]]}]})
        self.assertIn(p["id"], [x["id"] for x in self.ok("GET", "/api/policies")])
        ns = self.ok("POST", "/api/dns/nameservers", {
            "name": "corp", "description": "", "enabled": True,
            "nameservers": [{"ip": "10.1.1.1", "ns_type": "udp", "port": 53}],
            "groups": [g["id"]], "primary": False, "domains": ["corp.example"],
            "search_domains_enabled": True})
        self.assertIn(ns["id"], [x["id"] for x in self.ok("GET", "/api/dns/nameservers")])
        s = self.ok("PUT", "/api/dns/settings", {"disabled_management_groups": [g["id"]]})
        self.assertEqual(s["disabled_management_groups"], [g["id"]])
        u = self.ok("POST", "/api/users", {"name": "ci", "role": "user", "auto_groups": [],
                                           "is_service_user": True})
        self.assertIn(u["id"], [x["id"] for x in self.ok("GET", "/api/users")])
        codes = [e["activity_code"] for e in self.ok("GET", "/api/events/audit")]
        for code in ("group.add", "setupkey.add", "policy.add", "nameserver.group.add"):
            self.assertIn(code, codes)

    def test_role_boundary(self):
        u = self.ok("POST", "/api/users", {"name": "viewer", "role": "user", "auto_groups": [],
                                           "is_service_user": True})
        token = self.ok("POST", "/api/users/%s/tokens" % u["id"],
                        {"name": "t", "expires_in": 1})["plain_token"]
        r = self.call("POST", "/api/groups", {"name": "nope"}, token=token)
        self.assertEqual(r.status_code, 403)

    def test_changes_survive_restart(self):
        g = self.ok("POST", "/api/groups", {"name": "persisted ' \" ;--"})
        u = self.ok("POST", "/api/users", {"name": "bot", "role": "admin", "auto_groups": [],
                                           "is_service_user": True})
        token = self.ok("POST", "/api/users/%s/tokens" % u["id"],
                        {"name": "t", "expires_in": 1})["plain_token"]
        self.daemon.stop()
        self.daemon = Daemon(self.data_dir)
        again = self.ok("GET", "/api/groups/" + g["id"], token=token)
        self.assertEqual(again["name"], "persisted ' \" ;--")


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
