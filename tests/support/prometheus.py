"""A real Prometheus server for the tests, scraping the demo service on loopback.

``ensure_prometheus()`` finds (or, as root, installs) the Debian package ``prometheus``;
``PrometheusServer`` runs it on a free 127.0.0.1 port with a throwaway config and TSDB;
``prometheus_factory`` is the pytest fixture that starts servers and always stops them.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from cockpit.demo.stack import terminate

INSTALL_HINT = "install the Debian package prometheus: apt-get install prometheus"


def _find_binary() -> str | None:
    found = shutil.which("prometheus")
    if found:
        return found
    return "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None


@functools.cache
def _apt_update_once() -> None:
    _apt("update")


def _apt(*args: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=900,
        check=False,
    )


def ensure_prometheus() -> str:
    """The path of the ``prometheus`` binary, installing the Debian package as root if needed.

    Without it: under ``CI=true`` the test fails loudly (a CI image must have it), anywhere
    else it is skipped with the command that installs it.
    """
    binary = _find_binary()
    if binary is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_update_once()
        _apt("install", "-y", "prometheus")
        binary = _find_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"prometheus is required under CI=true; {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _target(address: str) -> str:
    """``host:port`` from ``host:port`` or ``http://host:port[/...]``."""
    if "://" in address:
        address = address.split("://", 1)[1]
    return address.split("/", 1)[0]


class PrometheusServer:
    """One Prometheus process with a scrape job ``demo`` over ``targets``.

    Args:
        targets: ``host:port`` (or ``http://host:port``) of each demo service.
        scrape_interval: Prometheus duration between scrapes; short keeps tests fast.
        binary: the prometheus binary; found with ``ensure_prometheus()`` when omitted.
    """

    def __init__(
        self, targets: list[str], scrape_interval: str = "1s", *, binary: str | None = None
    ) -> None:
        self.targets = [_target(t) for t in targets]
        self.scrape_interval = scrape_interval
        self.binary = binary
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self._client = httpx.Client(timeout=5.0, trust_env=False)  # loopback: no proxies

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT`` (known after ``start``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """Prometheus' own log (stdout and stderr), for failure messages."""
        return self.workdir / "prometheus.log" if self.workdir else None

    def _write_config(self, workdir: Path) -> Path:
        targets = ", ".join(f'"{t}"' for t in self.targets)
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            "scrape_configs:\n"
            "  - job_name: demo\n"
            f"    scrape_interval: {self.scrape_interval}\n"
            f"    scrape_timeout: {self.scrape_interval}\n"
            "    static_configs:\n"
            f"      - targets: [{targets}]\n"
        )
        return config

    def start(self, *, timeout: float = 30.0) -> None:
        """Start Prometheus and wait until ``/-/ready`` answers 200.

        Raises:
            RuntimeError: when it exits or is not ready in time (it is stopped then).
        """
        if self.proc is not None:
            raise RuntimeError("Prometheus is already started")
        binary = self.binary or ensure_prometheus()
        if self._client.is_closed:
            self._client = httpx.Client(timeout=5.0, trust_env=False)
        self.workdir = Path(tempfile.mkdtemp(prefix="cockpit-prometheus-"))
        config = self._write_config(self.workdir)
        deadline = time.monotonic() + timeout
        try:
            # A free port can be taken between our probe and Prometheus' bind: retry then.
            for attempt in range(3):
                self.port = _free_port()
                log_path = self.workdir / "prometheus.log"
                with open(log_path, "ab") as log:
                    self.proc = subprocess.Popen(
                        [
                            binary,
                            f"--config.file={config}",
                            f"--storage.tsdb.path={self.workdir / 'data'}",
                            f"--web.listen-address=127.0.0.1:{self.port}",
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                    )
                if self._wait_ready(deadline) or attempt == 2:
                    break
                terminate(self.proc)
                self.proc = None
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"Prometheus exited at start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float) -> bool:
        """True once ready; False if the process exited; raises at the deadline."""
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                return False
            try:
                if self._client.get(f"{self.url}/-/ready").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                raise RuntimeError(f"Prometheus was not ready in time: {self._log_tail()}")
            time.sleep(0.1)

    def _log_tail(self) -> str:
        path = self.log_path
        if path is None:
            return ""
        try:
            return path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def query(self, expr: str) -> list[dict[str, object]]:
        """Run an instant query; returns the result vector (may be empty).

        Raises:
            RuntimeError: when Prometheus answers ``status: error`` or not JSON.
        """
        response = self._client.get(f"{self.url}/api/v1/query", params={"query": expr})
        doc = response.json()
        if doc.get("status") != "success":
            raise RuntimeError(f"query {expr!r} failed: {doc}")
        result: list[dict[str, object]] = doc["data"]["result"]
        return result

    def wait_for_value(
        self,
        expr: str,
        *,
        timeout: float = 20.0,
        accept: Callable[[float], bool] = math.isfinite,
    ) -> float:
        """Poll ``expr`` until its first sample is a number that ``accept`` takes.

        Raises:
            TimeoutError: with the last answer, when none arrives before the deadline.
        """
        deadline = time.monotonic() + timeout
        last: object = "no answer"
        while True:
            try:
                result = self.query(expr)
                last = result
                if result:
                    value = result[0].get("value")
                    if isinstance(value, list) and len(value) == 2:
                        number = float(value[1])
                        if accept(number):
                            return number
            except (httpx.HTTPError, ValueError, RuntimeError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{expr!r}: no accepted value within {timeout} s; last: {last}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop Prometheus (SIGTERM, SIGKILL after a grace) and delete its files; idempotent."""
        if self.proc is not None:
            terminate(self.proc, grace=10.0)
            self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self._client.close()

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


StartPrometheus = Callable[[list[str]], PrometheusServer]


@pytest.fixture
def prometheus_factory() -> Iterator[StartPrometheus]:
    """Start Prometheus servers scraping the given targets; all are stopped at teardown."""
    binary = ensure_prometheus()
    servers: list[PrometheusServer] = []

    def start(targets: list[str]) -> PrometheusServer:
        server = PrometheusServer(targets, binary=binary)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
