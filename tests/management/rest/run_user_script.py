"""Runs a NetBird API user's script against our server.

The script is run unchanged; only the base URL and the token are given to
it, through NETBIRD_API_URL and NETBIRD_API_TOKEN, which is how a user would
point it at another server.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rest_server import RestServer  # noqa: E402

server = RestServer()
try:
    env = dict(os.environ)
    env["NETBIRD_API_URL"] = server.url
    env["NETBIRD_API_TOKEN"] = server.info["owner_token"]
    result = subprocess.run([sys.executable, sys.argv[1]], env=env, timeout=50)
    sys.exit(result.returncode)
finally:
    server.stop()
