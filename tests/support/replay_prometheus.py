"""Replays with a Prometheus history: a real local endpoint, and journals written by the real
session at chosen wall times.

:class:`Endpoint` is a real HTTP server on 127.0.0.1 (in a thread): ``/metrics`` is a gauge
that counts its own scrapes, for a real Prometheus to scrape; ``/api/v1/query_range`` answers
whatever the test sets, as a fake (or hostile) Prometheus. :func:`write_journal` writes a
session's journal with the real session and journal writer, on a fake clock set to the wall
times the test wants (inside what a real Prometheus holds, or not).
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cockpit.clock import FakeClock
from tests.support.ui import DATA, feed, new_session

GAUGE = "cockpit_replay_scrapes"
"""The gauge ``/metrics`` serves: how many times it was scraped (1, 2, 3, ...)."""


@dataclass(frozen=True)
class Asked:
    """One request the endpoint received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


Answer = Callable[[Asked], tuple[int, bytes]]


class Endpoint:
    """A real HTTP server on a free loopback port; stop it with :meth:`stop` (or ``with``)."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.asked: list[Asked] = []
        self.answer: Answer = lambda asked: (404, b"no answer set")
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                asked = Asked(
                    split.path,
                    dict(urllib.parse.parse_qsl(split.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                if split.path == "/metrics":
                    endpoint.scrapes += 1
                    code, body = 200, f"{GAUGE} {endpoint.scrapes}\n".encode()
                else:
                    endpoint.asked.append(asked)
                    code, body = endpoint.answer(asked)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may stop reading (a body over its limit).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def matrix(points: list[tuple[float, str]], labels: dict[str, str] | None = None) -> bytes:
    """A range query's answer: one series of (time, value as Prometheus writes it)."""
    series = {"metric": labels or {}, "values": [[t, v] for t, v in points]}
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [series]}}
    return json.dumps(doc).encode()


def range_answer(value: Callable[[float], str]) -> Answer:
    """A fake Prometheus answering the range asked for: a point per step, ``value(t)``."""

    def answer(asked: Asked) -> tuple[int, bytes]:
        start, end = float(asked.query["start"]), float(asked.query["end"])
        step = float(asked.query["step"])
        count = int((end - start) // step) + 1
        return 200, matrix([(start + k * step, value(start + k * step)) for k in range(count)])

    return answer


def profile_with_prometheus(
    directory: Path,
    url: str,
    *,
    query: str = GAUGE,
    window: str = "20s",
    headers: str = "",
    base: Path = DATA / "fast.toml",
) -> Path:
    """The Pilot tests' profile with its error rate read from Prometheus at ``url``, and a
    short ``[history] window`` (how far before the session a replay reads)."""
    text = base.read_text()
    http = """[metrics.source]
kind = "http"
url = "http://127.0.0.1:9/stats"
json_path = "window.error_rate_pct"
"""
    assert http in text, "the Pilot profile changed: update this helper"
    source = f'[metrics.source]\nkind = "prometheus"\nurl = {json.dumps(url)}\n'
    source += f"query = {json.dumps(query)}\n"
    if headers:
        source += f"headers = {headers}\n"
    text = text.replace(http, source)
    text += f'\n[history]\nwindow = "{window}"\ntimeout = "5s"\n'
    path = directory / "prometheus-profile.toml"
    path.write_text(text)
    return path


async def write_journal(
    directory: Path,
    profile: Path,
    start_wall: float,
    error_rates: list[float],
    environ: dict[str, str] | None = None,
) -> Path:
    """A session's journal written by the real session on a fake clock from ``start_wall``:
    it opens, then one round of samples a second (the error rate as given, p99 100 ms)."""
    clock = FakeClock(start_wall)
    env = {"COCKPIT_UI_DIR": str(directory), **(environ or {})}
    session = new_session(profile, directory, clock, environ=env)
    for rate in error_rates:
        feed(session, clock, {"error-rate": rate, "p99": 100.0})
    await session.close()
    return session.journal_path


@contextlib.contextmanager
def endpoint() -> Iterator[Endpoint]:
    """A started :class:`Endpoint`, always stopped."""
    server = Endpoint()
    try:
        yield server
    finally:
        server.stop()
