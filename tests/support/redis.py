"""A real Redis server for tests (Debian's redis-server on a free loopback port, nothing written to disk)."""

import os
import subprocess
import tempfile
import time
from contextlib import contextmanager

import pytest
import redis

from .ports import free_port

REDIS_SERVER = "/usr/bin/redis-server"


@contextmanager
def redis_server():
    """Yield the redis:// URL of a fresh server; stopped on exit."""
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDIS_SERVER} is missing; CI must install Debian's redis-server package")
        pytest.skip(f"{REDIS_SERVER} is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
        server = subprocess.Popen([REDIS_SERVER, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_for(port, server)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.communicate(timeout=30)  # reaps it and closes its output pipe


def _wait_for(port: int, server: subprocess.Popen) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(200):
        if server.poll() is not None:
            raise AssertionError(f"redis-server exited:\n{server.stdout.read()}")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
        finally:
            client.close()
    raise AssertionError("redis-server did not answer")
