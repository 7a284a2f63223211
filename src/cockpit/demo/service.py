"""The demo HTTP service: a healthy ``v1`` and a bad ``v2`` release to deploy and roll back.

``v1`` answers every work request (``GET /``) with 200 in 5–20 ms. ``v2`` fails exactly
2 of every 25 work requests with 500 (8 %) and makes 1 of every 20 slow (300–600 ms), so
its error rate and p99 are clearly worse. The failures come from a shuffled bag: positions
are random, the rate over any few hundred requests is 8 % give or take half a point, which
keeps the demo convincing and the tests free of flakes.

A version switch (``current`` rewritten, then SIGHUP; the file is also polled every 0.2 s)
starts a warm-up of 1.5 s during which ``/readyz`` answers 503 and the old version keeps
serving, as in a rolling update. When the warm-up ends the new version serves and the
rolling window of ``/stats`` is reset, so the window describes the new version alone.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import contextlib
import json
import math
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from cockpit.demo import state
from cockpit.demo.lifeline import tie_to_parent

WARMUP_S = 1.5
"""How long the service stays not-ready after it starts and after each version switch."""

WARMUP_ENV = "COCKPIT_DEMO_WARMUP_S"
"""Overrides ``WARMUP_S`` (seconds, 0–60); the tests shorten the warm-up with it."""

POLL_INTERVAL_S = 0.2
"""How often the service re-reads ``current`` (the fallback when a SIGHUP is missed)."""

WINDOW_S = 10.0
"""The span of the rolling window reported by ``/stats``."""

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds of the latency histogram (seconds); ``+Inf`` is implicit."""

_WINDOW_CAP = 200_000  # bounds memory even under a flood: about 5,000 req/s over 10 s.


@dataclass(frozen=True)
class Behaviour:
    """How one version answers work requests."""

    errors_per_bag: int
    """Requests answered 500 in every bag of ``bag_size``."""
    bag_size: int
    slow_per_bag: int
    """Slow requests in every bag of ``slow_bag_size``."""
    slow_bag_size: int
    fast_ms: tuple[float, float]
    slow_ms: tuple[float, float]


BEHAVIOURS: dict[str, Behaviour] = {
    "v1": Behaviour(0, 25, 0, 20, fast_ms=(5.0, 20.0), slow_ms=(5.0, 20.0)),
    "v2": Behaviour(2, 25, 1, 20, fast_ms=(10.0, 30.0), slow_ms=(300.0, 600.0)),
}


class _Bag:
    """A shuffled bag of booleans: exactly ``hits`` True in every ``size`` draws."""

    def __init__(self, hits: int, size: int, rng: random.Random) -> None:
        self._hits = hits
        self._size = size
        self._rng = rng
        self._items: list[bool] = []

    def draw(self) -> bool:
        """The next item; called under the service lock."""
        if not self._items:
            self._items = [True] * self._hits + [False] * (self._size - self._hits)
            self._rng.shuffle(self._items)
        return self._items.pop()


class DemoService:
    """The state of the service: versions, readiness, counters and the rolling window.

    All mutable state is guarded by one lock; request threads hold it only to draw an
    outcome and to record one.
    """

    def __init__(
        self, state_dir: Path, version: str, *, warmup: float = WARMUP_S, now: float | None = None
    ) -> None:
        self.state_dir = state_dir
        self.warmup = warmup
        self._lock = threading.Lock()
        self._rng = random.Random()
        started = time.monotonic() if now is None else now
        self._started = started
        self._serving = version
        self._target = version
        self._switch_at = started
        self._bags = self._new_bags(version)
        self._counts: dict[int, int] = {200: 0, 500: 0}
        self._bucket_counts = [0] * (len(BUCKETS) + 1)
        self._sum = 0.0
        self._window: collections.deque[tuple[float, bool, float]] = collections.deque(
            maxlen=_WINDOW_CAP
        )
        self._window_start = started

    def _new_bags(self, version: str) -> tuple[_Bag, _Bag]:
        b = BEHAVIOURS[version]
        return _Bag(b.errors_per_bag, b.bag_size, self._rng), _Bag(
            b.slow_per_bag, b.slow_bag_size, self._rng
        )

    def _advance(self, now: float) -> None:
        """Finish a warm-up whose time has come; caller holds the lock."""
        if self._serving != self._target and now - self._switch_at >= self.warmup:
            self._serving = self._target
            self._bags = self._new_bags(self._target)
            # Reset the window so /stats shows the new version promptly, not a 10 s blend.
            self._window.clear()
            self._window_start = now

    def request_switch(self, version: str, now: float) -> bool:
        """Start warming up ``version``; returns False when it is already the target."""
        with self._lock:
            self._advance(now)
            if version == self._target:
                return False
            self._target = version
            self._switch_at = now
            return True

    def ready(self, now: float) -> tuple[bool, str, str]:
        """Readiness, the target version and the serving version."""
        with self._lock:
            self._advance(now)
            ready = self._serving == self._target and now - self._switch_at >= self.warmup
            return ready, self._target, self._serving

    def plan_request(self, now: float) -> tuple[int, float]:
        """Draw the outcome of one work request: status code and latency in seconds."""
        with self._lock:
            self._advance(now)
            behaviour = BEHAVIOURS[self._serving]
            error_bag, slow_bag = self._bags
            code = 500 if error_bag.draw() else 200
            low, high = behaviour.slow_ms if slow_bag.draw() else behaviour.fast_ms
            return code, self._rng.uniform(low, high) / 1000.0

    def record(self, code: int, duration: float, now: float) -> None:
        """Count one finished work request."""
        with self._lock:
            self._counts[code] = self._counts.get(code, 0) + 1
            self._bucket_counts[bisect.bisect_left(BUCKETS, duration)] += 1
            self._sum += duration
            self._window.append((now, code >= 500, duration))

    def _prune(self, now: float) -> None:
        cutoff = now - WINDOW_S
        while self._window and self._window[0][0] < cutoff:
            self._window.popleft()

    def stats(self, now: float) -> dict[str, object]:
        """The ``/stats`` document."""
        with self._lock:
            self._advance(now)
            self._prune(now)
            ready = self._serving == self._target and now - self._switch_at >= self.warmup
            n = len(self._window)
            errors = sum(1 for _, failed, _ in self._window if failed)
            durations = sorted(d for _, _, d in self._window)
            span = min(WINDOW_S, now - self._window_start)
            total = sum(self._counts.values())
            failed_total = sum(c for code, c in self._counts.items() if code >= 500)
            window: dict[str, object] = {
                "seconds": round(span, 3),
                "requests": n,
                "errors": errors,
                # None, not 0, for an empty window: no traffic is not a healthy measurement.
                "error_rate_pct": round(100.0 * errors / n, 3) if n else None,
                "p99_ms": round(_nearest_rank(durations, 0.99) * 1000.0, 3) if n else None,
                "rps": round(n / max(span, 1.0), 3),
            }
            return {
                "version": self._serving,
                "target": self._target,
                "ready": ready,
                "uptime_s": round(now - self._started, 3),
                "requests_total": total,
                "errors_total": failed_total,
                "window": window,
                "pid": os.getpid(),
            }

    def metrics(self, now: float) -> str:
        """The ``/metrics`` document in Prometheus text exposition format 0.0.4."""
        with self._lock:
            self._advance(now)
            ready = self._serving == self._target and now - self._switch_at >= self.warmup
            counts = dict(self._counts)
            buckets = list(self._bucket_counts)
            total_sum = self._sum
            serving = self._serving
        lines = [
            "# HELP demo_http_requests_total Work requests (GET /) answered, by status code.",
            "# TYPE demo_http_requests_total counter",
        ]
        lines += [f'demo_http_requests_total{{code="{c}"}} {n}' for c, n in sorted(counts.items())]
        lines += [
            "# HELP demo_http_request_duration_seconds Latency of work requests (GET /).",
            "# TYPE demo_http_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, n in zip((*BUCKETS, math.inf), buckets, strict=True):
            cumulative += n
            le = "+Inf" if math.isinf(bound) else repr(bound)
            lines.append(f'demo_http_request_duration_seconds_bucket{{le="{le}"}} {cumulative}')
        lines += [
            f"demo_http_request_duration_seconds_sum {total_sum!r}",
            f"demo_http_request_duration_seconds_count {cumulative}",
            "# HELP demo_version_info The version serving work requests.",
            "# TYPE demo_version_info gauge",
            f'demo_version_info{{version="{serving}"}} 1',
            "# HELP demo_ready 1 when the service is ready (GET /readyz answers 200).",
            "# TYPE demo_ready gauge",
            f"demo_ready {1 if ready else 0}",
        ]
        return "\n".join(lines) + "\n"


def _nearest_rank(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile of a sorted, non-empty list by the nearest-rank method."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class _Handler(BaseHTTPRequestHandler):
    """Routes the five endpoints; the service object hangs off the server."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: the load generator reuses its connections
    timeout = 30  # an idle keep-alive connection frees its thread after this
    # The head and the body go out in two writes: on a kept-alive connection the second
    # waited for the client's delayed ACK, and every answer took 40-44 ms (measured with the
    # probes' client: 44 ms a request, against 1-2 ms with TCP_NODELAY). The readiness
    # latency the demo shows was mostly that wait.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        service = self.server.service
        path = self.path.split("?", 1)[0]
        if path == "/":
            started = time.monotonic()
            code, latency = service.plan_request(started)
            time.sleep(latency)
            body = b"internal error\n" if code >= 500 else b"ok\n"
            self._send(code, body, "text/plain; charset=utf-8")
            service.record(code, time.monotonic() - started, time.monotonic())
        elif path == "/healthz":
            self._send_json(200, {"status": "ok", "pid": os.getpid()})
        elif path == "/readyz":
            ready, target, serving = service.ready(time.monotonic())
            doc = {"ready": ready, "version": target, "serving": serving}
            self._send_json(200 if ready else 503, doc)
        elif path == "/metrics":
            text = service.metrics(time.monotonic())
            self._send(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/stats":
            self._send_json(200, service.stats(time.monotonic()))
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _send_json(self, code: int, doc: dict[str, object]) -> None:
        self._send(code, json.dumps(doc).encode() + b"\n", "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log: the load generator sends dozens a second."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Restarting on a fixed port right after a stop must not fail on TIME_WAIT.
    allow_reuse_address = True

    def __init__(self, port: int, service: DemoService) -> None:
        self.service = service
        super().__init__(("127.0.0.1", port), _Handler)


def _log(message: str) -> None:
    print(f"demo-service[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _remove_run_files(state_dir: Path) -> None:
    """Remove ``service.port`` and ``service.pid`` if they still name this process."""
    if state.read_int(state_dir / state.PID_FILE) != os.getpid():
        return  # a successor owns them now
    for name in (state.PORT_FILE, state.PID_FILE):
        with contextlib.suppress(OSError):
            (state_dir / name).unlink()


def service_command(args: argparse.Namespace) -> int:
    """``cockpit demo-service --port N --state DIR``: serve until SIGTERM.

    Returns:
        0 after a clean stop, 1 when the port is taken or another service owns DIR,
        2 on bad arguments.
    """
    tie_to_parent()
    port = int(args.port)
    if not 0 <= port <= 65535:
        print(f"demo-service: --port {port} is not a port (0..65535)", file=sys.stderr)
        return 2
    warmup = _warmup_from_env()
    if warmup is None:
        print(f"demo-service: {WARMUP_ENV} must be a number of seconds in [0, 60]", file=sys.stderr)
        return 2
    state_dir = Path(args.state)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"demo-service: cannot create the state directory {state_dir}: {exc}", file=sys.stderr
        )
        return 2
    with state.locked(state_dir / state.SERVICE_LOCK) as acquired:
        if not acquired:
            print(
                f"demo-service: another demo service already runs with {state_dir}; "
                "stop it first or use another --state",
                file=sys.stderr,
            )
            return 1
        return _serve(state_dir, port, warmup)


def _warmup_from_env() -> float | None:
    text = os.environ.get(WARMUP_ENV)
    if text is None:
        return WARMUP_S
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 60.0 else None


def _serve(state_dir: Path, port: int, warmup: float) -> int:
    current_path = state_dir / state.CURRENT
    version = state.read_version(current_path)
    if version is None:
        version = state.DEFAULT_VERSION
        state.write_atomic(current_path, version + "\n")
    service = DemoService(state_dir, version, warmup=warmup)
    try:
        server = _Server(port, service)
    except OSError as exc:
        print(f"demo-service: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 1
    bound_port = server.server_address[1]

    wake = threading.Event()
    stopping = threading.Event()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        wake.set()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        wake.set()

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
    )
    thread.start()
    # Port first, pid second: whoever sees our pid in service.pid can trust service.port.
    state.write_atomic(state_dir / state.PORT_FILE, f"{bound_port}\n")
    state.write_atomic(state_dir / state.PID_FILE, f"{os.getpid()}\n")
    _log(f"serving {version} on http://127.0.0.1:{bound_port}/ (state {state_dir})")
    bad_content: str | None = None
    try:
        while not stopping.is_set():
            wake.wait(POLL_INTERVAL_S)
            wake.clear()
            text = state.read_text(current_path)
            if text is None:
                continue
            if text not in state.VERSIONS:
                if text != bad_content:
                    _log(f"ignoring unknown version {text!r} in {current_path}")
                    bad_content = text
                continue
            bad_content = None
            if service.request_switch(text, time.monotonic()):
                _log(f"switching to {text}: warming up for {warmup:g} s")
    finally:
        server.shutdown()
        server.server_close()
        _remove_run_files(state_dir)
        _log("stopped")
    return 0
