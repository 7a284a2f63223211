"""An incident for real: the demo service on v1 under traffic, a real Prometheus scraping it
every second, then v2 switched in *outside* the cockpit and the error rate going RED.

Used by the history tests and the end-to-end incident. Every wait polls a real condition
(Prometheus's own answers) with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cockpit.demo import control
from cockpit.demo.stack import DemoStack
from cockpit.profile import Profile, load_profile, resolve_profile
from tests.support.prometheus import PrometheusServer, ensure_prometheus

ROOT = Path(__file__).resolve().parents[2]
INCIDENT_PROFILE = ROOT / "profiles" / "demo-incident.toml"
"""The demo judged by its own Prometheus (1 s scrapes, 10 s windows)."""


@dataclass
class RealIncident:
    """The stack, its Prometheus, and when v2 went out and when the error rate went RED."""

    stack: DemoStack
    prometheus: PrometheusServer
    switched: float = 0.0
    """Wall time just before ``demo-ctl deploy v2`` started (outside the cockpit)."""
    red: float = 0.0
    """Wall time at which Prometheus first answered an error rate at or above 2 %."""

    def env(self) -> dict[str, str]:
        return {**self.stack.env(), "COCKPIT_PROMETHEUS_URL": self.prometheus.url}

    def profile(self) -> Profile:
        return resolve_profile(load_profile(INCIDENT_PROFILE), self.env()).profile

    def error_rate_query(self) -> str:
        source = self.profile().metric("error-rate").source
        assert source.kind == "prometheus"
        return source.query

    def range_values(self, promql: str, seconds: float) -> list[float]:
        """The finite values of ``promql`` over the last ``seconds``, one a second."""
        end = time.time()
        answer = httpx.get(
            f"{self.prometheus.url}/api/v1/query_range",
            params={"query": promql, "start": end - seconds, "end": end, "step": 1},
            timeout=5.0,
        ).json()
        result = answer.get("data", {}).get("result", [])
        if not result:
            return []
        return [float(v) for _, v in result[0]["values"] if v not in ("NaN", "+Inf", "-Inf")]

    def wait_for_v1_history(self, seconds: float = 12.0, timeout: float = 60.0) -> None:
        """Until Prometheus has ``seconds`` of finite error rate (v1's history)."""
        query = self.error_rate_query()
        deadline = time.monotonic() + timeout
        while len(self.range_values(query, seconds)) < seconds - 1:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {seconds:.0f} s of v1 history in Prometheus")
            time.sleep(0.25)

    def switch_to_v2(self) -> None:
        """Deploy v2 outside the cockpit (as CI would), then wait for the error rate to be RED
        in Prometheus."""
        self.switched = time.time()
        control.deploy(self.stack.state_dir, "v2", dry_run=False, timeout=15.0, out=io.StringIO())
        self.prometheus.wait_for_value(self.error_rate_query(), timeout=30, accept=lambda v: v >= 2)
        self.red = time.time()

    def serving(self) -> str:
        """The version the demo service really serves, asked over HTTP."""
        _, body = control.http_get(self.stack.port, "/stats")
        return str(json.loads(body)["version"])


@contextmanager
def real_incident(state_dir: Path) -> Iterator[RealIncident]:
    """The demo on v1 with traffic and a Prometheus scraping it; stopped afterwards."""
    stack = DemoStack(state_dir, rate=50.0, warmup=0.3)
    stack.start()
    prometheus = PrometheusServer([stack.url], binary=ensure_prometheus())
    try:
        prometheus.start()
        yield RealIncident(stack, prometheus)
    finally:
        prometheus.stop()
        stack.stop()
