"""Runs a NetBird API user's script against our server.

The script is run unchanged; only the base URL and the token are given to
it, through NETBIRD_API_URL and NETBIRD_API_TOKEN, which is how a user would
point it at another server.

  run_user_script.py SCRIPT                 against nb-mgmt-rest-test-server
  run_user_script.py --daemon BINARY SCRIPT against `netbird-management
                                            --listen 127.0.0.1:PORT --data-dir DIR`
                                            with the admin token it writes to
                                            DIR/initial-credentials.json
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rest_server import RestServer  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(script, url, token):
    env = dict(os.environ)
    env["NETBIRD_API_URL"] = url
    env["NETBIRD_API_TOKEN"] = token
    return subprocess.run([sys.executable, script], env=env, timeout=50).returncode


def with_test_server(script):
    server = RestServer()
    try:
        return run(script, server.url, server.info["owner_token"])
    finally:
        server.stop()


def with_daemon(binary, script):
    data_dir = tempfile.mkdtemp(prefix="nb-rest-daemon-")
    proc = None
    try:
        port = free_port()
        proc = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % port,
                                 "--data-dir", data_dir])
        url = "http://127.0.0.1:%d" % port
        creds_path = os.path.join(data_dir, "initial-credentials.json")
        deadline = time.time() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError("netbird-management exited with %d" % proc.returncode)
            try:
                if os.path.exists(creds_path):
                    requests.get(url + "/api/peers", timeout=2)
                    break
            except requests.exceptions.ConnectionError:
                pass
            if time.time() > deadline:
                raise RuntimeError("netbird-management did not come up")
            time.sleep(0.1)
        mode = os.stat(creds_path).st_mode & 0o777
        if mode != 0o600:
            raise RuntimeError("initial-credentials.json has mode %o, not 600" % mode)
        with open(creds_path) as f:
            creds = json.load(f)
        return run(script, url, creds["admin_token"])
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "--daemon":
        sys.exit(with_daemon(sys.argv[2], sys.argv[3]))
    sys.exit(with_test_server(sys.argv[1]))
