"""A real Prometheus for ``cockpit demo --prometheus``, scraping the demo service every second.

It runs the ``prometheus`` binary found on PATH on a free loopback port, with a throwaway
configuration and database in the demo's state directory, tied to the cockpit's life like the
demo's own processes. Standard library only, like the rest of the demo.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

from cockpit.demo.control import http_get
from cockpit.demo.stack import terminate

INSTALL_HINT = "install Prometheus (Debian and Ubuntu: apt-get install prometheus)"


class PrometheusError(RuntimeError):
    """Prometheus could not be found or started; the message says what to do."""


def find_prometheus() -> str:
    """The ``prometheus`` binary on PATH.

    Raises:
        PrometheusError: there is none.
    """
    found = shutil.which("prometheus")
    if found is None:
        raise PrometheusError(f"no prometheus binary on PATH; {INSTALL_HINT}")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the cockpit that started it dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: stop() is the way out
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)


class DemoPrometheus:
    """One Prometheus scraping ``target`` (``host:port``) every second.

    Args:
        binary: the prometheus binary.
        target: the demo service's ``127.0.0.1:PORT``.
        workdir: where its configuration, database and log go (created).
    """

    def __init__(self, binary: str, target: str, workdir: Path) -> None:
        self.binary = binary
        self.target = target
        self.workdir = Path(workdir)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (known after :meth:`start`)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> None:
        """Start it and wait until it is ready.

        Raises:
            PrometheusError: it exited or was not ready in time (it is stopped then).
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: demo\n    scrape_interval: 1s\n"
            f"    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{self.target}']\n"
        )
        self.port = _free_port()
        log = self.workdir / "prometheus.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run yet in the demo)
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = log.read_text(errors="replace")[-500:].strip()
                self.stop()
                raise PrometheusError(f"prometheus exited at start: {tail}")
            try:
                if http_get(self.port, "/-/ready", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                self.stop()
                raise PrometheusError(f"prometheus was not ready within {timeout:.0f} s")
            time.sleep(0.1)

    def value(self, query: str) -> float | None:
        """The value of an instant query, or None (no data, an error, not a number)."""
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            _, body = http_get(self.port, path)
            result = json.loads(body)["data"]["result"]
            return float(result[0]["value"][1]) if result else None
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None

    def stop(self) -> None:
        """Stop it and remove its database; idempotent."""
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None
        shutil.rmtree(self.workdir / "data", ignore_errors=True)


def environment(prometheus: DemoPrometheus) -> dict[str, str]:
    """What the demo's Prometheus profile needs besides the demo's own variables."""
    return {"COCKPIT_PROMETHEUS_URL": prometheus.url}


__all__ = ["DemoPrometheus", "PrometheusError", "environment", "find_prometheus"]
