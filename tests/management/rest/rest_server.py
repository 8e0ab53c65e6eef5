"""Starts nb-mgmt-rest-test-server in a temporary directory for a test.

The server is a real NbMgmtRestApi on a real store, listening on 127.0.0.1;
its first stdout line is JSON with the base URL, tokens and IDs. Everything
(process, directory) is cleaned up by stop(), which tests call in a finally
or tearDown, and at interpreter exit as a last resort.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile


class RestServer:
    def __init__(self):
        binary = os.environ.get("NB_REST_TEST_SERVER")
        if not binary:
            raise RuntimeError("NB_REST_TEST_SERVER is not set: run through meson test")
        self.dir = tempfile.mkdtemp(prefix="nb-rest-test-")
        self.proc = subprocess.Popen([binary, self.dir], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        atexit.register(self.stop)
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the test server exited before it was ready")
        self.info = json.loads(line)
        self.url = self.info["url"]

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc.stdout.close()
            self.proc.stdin.close()
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
