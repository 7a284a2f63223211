"""A real etcd server for the lock tests: Debian's ``etcd-server``, on loopback ports.

Installed with apt-get when it is missing and the tests run as root (as CI does); otherwise
the tests skip saying what to install, and under ``CI=true`` they fail instead. Each server
has its own data directory and ports, so test runs side by side never meet; ``stop()`` and
``start()`` take it away and bring it back on the same ports and data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def etcd_binary() -> str:
    """The etcd executable, installed with apt-get when missing and root."""
    found = shutil.which("etcd")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "etcd-server"]):
            subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)
        found = shutil.which("etcd")
    if found is None:
        _unavailable("the etcd lock tests need etcd: apt-get install etcd-server")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EtcdServer:
    """One etcd member on loopback."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.client_port = _free_port()
        self.peer_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 30.0) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = (self.directory / "etcd.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--name=test",
                f"--data-dir={self.directory / 'data'}",
                f"--listen-client-urls={self.url}",
                f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=test={peer}",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(f"{self.url}/v3/kv/range", json={"key": "eA=="}).status_code == 200:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.directory / "etcd.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"etcd did not start on {self.url}:\n{tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextlib.contextmanager
def etcd_server() -> Iterator[EtcdServer]:
    """A started etcd, stopped and removed afterwards (use as a fixture)."""
    binary = etcd_binary()
    directory = Path(tempfile.mkdtemp(prefix="cockpit-etcd-"))
    server = EtcdServer(binary, directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
