"""``cockpit demo-load``: steady traffic to the demo service, loopback only.

A fixed pool of worker threads takes send times from one shared schedule (``1/rate``
apart), so the rate holds while a few requests are slow and nothing queues without bound:
when every worker is busy the schedule slips, and a backlog older than half a second is
dropped instead of being sent as a burst.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import ipaddress
import math
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from types import FrameType

from cockpit.demo.lifeline import tie_to_parent

MAX_RATE = 2000.0
"""The highest --rate accepted (requests per second)."""

_MAX_BACKLOG_S = 0.5
_REQUEST_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Target:
    """Where the load goes."""

    host: str
    port: int
    path: str


def parse_target(url: str) -> Target:
    """Check that ``url`` is plain HTTP to a loopback address.

    Raises:
        ValueError: with a message that says what is wrong and what is accepted.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"--url {url!r}: only http:// URLs are supported")
    host = parts.hostname or ""
    if host == "localhost":
        host = "127.0.0.1"  # never trust a resolver to keep "localhost" local
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"--url {url!r}: refusing to send load to {parts.hostname or '(no host)'}; "
            "demo-load only targets loopback (127.0.0.1, ::1 or localhost)"
        )
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise ValueError(f"--url {url!r}: {exc}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(host=host, port=port, path=path)


class _Schedule:
    """Hands out send times ``1/rate`` apart to the workers."""

    def __init__(self, rate: float, start: float) -> None:
        self._period = 1.0 / rate
        self._next = start
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = time.monotonic()
            if self._next < now - _MAX_BACKLOG_S:
                self._next = now  # workers fell behind: drop the backlog, do not burst
            slot = self._next
            self._next += self._period
            return slot


class LoadGenerator:
    """A fixed pool of threads sending GET requests to one target at a steady rate."""

    def __init__(self, target: Target, rate: float) -> None:
        self.target = target
        self.rate = rate
        # Enough workers to keep the rate while some requests take 0.6 s, and no more.
        self.workers = max(4, min(64, math.ceil(rate * 0.2)))
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.codes: collections.Counter[int] = collections.Counter()
        self.failures = 0
        self._schedule = _Schedule(rate, time.monotonic())

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            self.target.host, self.target.port, timeout=_REQUEST_TIMEOUT_S
        )

    def _work(self) -> None:
        conn = self._connect()
        try:
            while True:
                delay = self._schedule.take() - time.monotonic()
                if self.stop.wait(max(0.0, delay)):
                    return
                try:
                    conn.request("GET", self.target.path)
                    response = conn.getresponse()
                    response.read()
                    with self._lock:
                        self.codes[response.status] += 1
                except (OSError, http.client.HTTPException):
                    with self._lock:
                        self.failures += 1
                    conn.close()
                    conn = self._connect()
        finally:
            conn.close()

    def run(self, duration: float) -> float:
        """Send load until ``duration`` seconds pass (0: forever) or ``stop`` is set.

        Returns:
            The seconds the load ran.
        """
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._work, name=f"load-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        deadline = started + duration if duration > 0 else math.inf
        # Short waits so that a signal handler setting ``stop`` is noticed promptly.
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))
        self.stop.set()
        for thread in threads:
            thread.join(timeout=_REQUEST_TIMEOUT_S + 1.0)
        return time.monotonic() - started

    def summary(self, elapsed: float) -> str:
        """One line for the end of the run."""
        with self._lock:
            sent = sum(self.codes.values())
            codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.codes.items()))
            failures = self.failures
        rate = sent / elapsed if elapsed > 0 else 0.0
        return (
            f"demo-load: {sent} responses in {elapsed:.1f} s ({rate:.1f}/s); "
            f"codes {{{codes}}}; connection failures {failures}"
        )


def load_command(args: argparse.Namespace) -> int:
    """``cockpit demo-load --url URL [--rate R] [--duration S]``; 0 when done, 2 on bad input."""
    tie_to_parent()
    try:
        target = parse_target(str(args.url))
    except ValueError as exc:
        print(f"demo-load: {exc}", file=sys.stderr)
        return 2
    rate = float(args.rate)
    duration = float(args.duration)
    if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
        print(
            f"demo-load: --rate must be in (0, {MAX_RATE:g}] requests/s, not {args.rate}",
            file=sys.stderr,
        )
        return 2
    if not (math.isfinite(duration) and duration >= 0):
        print(f"demo-load: --duration must be >= 0 seconds, not {args.duration}", file=sys.stderr)
        return 2
    generator = LoadGenerator(target, rate)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        generator.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    elapsed = generator.run(duration)
    print(generator.summary(elapsed), flush=True)
    return 0
