"""The Prometheus probe against a real Prometheus scraping the real demo service.

The queries are those of ``profiles/demo-prometheus.toml``, so these tests also prove the
profile: v1 passes, v2 fails with the measured rate, a dead target is not PASS (the
freshness guard), a dead Prometheus is an ERROR.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.clock import SystemClock
from cockpit.demo.stack import DemoStack
from cockpit.probes import measure, sample_metric
from cockpit.probes.base import format_value
from cockpit.profile.loader import load_profile
from cockpit.profile.models import Metric, Profile, PrometheusSource, Threshold
from cockpit.profile.resolve import resolve_profile
from cockpit.sample import Sample, Status
from tests.support import prometheus as prometheus_support
from tests.support.prometheus import PrometheusServer, StartPrometheus, ensure_prometheus

pytestmark = pytest.mark.prometheus

# Register the support module's fixture here (as tests/unit/test_prometheus_fixture.py does).
prometheus_factory = prometheus_support.prometheus_factory

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo-prometheus.toml"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    with DemoStack(tmp_path / "state", rate=50) as demo:
        yield demo


@pytest.fixture
def prometheus(stack: DemoStack) -> Iterator[PrometheusServer]:
    server = PrometheusServer([stack.url], binary=ensure_prometheus())
    try:
        server.start()
        yield server
    finally:
        server.stop()


def profile_for(stack: DemoStack, prometheus: PrometheusServer) -> Profile:
    env = {**stack.env(), "COCKPIT_PROMETHEUS_URL": prometheus.url}
    return resolve_profile(load_profile(PROFILE), env).profile


def poll(metric: Metric, accept: str, timeout: float) -> Sample:
    """Sample ``metric`` until its status is ``accept``; the last sample at the deadline."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        sample = asyncio.run(sample_metric(metric, clock=SystemClock()))
        if sample.status.value == accept or time.monotonic() >= deadline:
            return sample
        time.sleep(0.25)


async def query(prometheus: PrometheusServer, promql: str) -> Sample:
    source = PrometheusSource(kind="prometheus", url=prometheus.url, query=promql)
    return await measure(
        source, id="q", threshold=Threshold(below=1e9), unit="", timeout=5, clock=SystemClock()
    )


def test_v1_passes_and_v2_fails_with_the_measured_rate(
    stack: DemoStack, prometheus: PrometheusServer
) -> None:
    import asyncio

    profile = profile_for(stack, prometheus)
    error_rate, p99, throughput = (profile.metric(i) for i in ("error-rate", "p99", "throughput"))
    # rate() needs two scrapes: poll with a deadline until the first PASS.
    first = poll(error_rate, "PASS", timeout=20)
    assert first.status is Status.PASS, first
    assert first.value is not None and first.value < 2
    assert poll(p99, "PASS", timeout=10).status is Status.PASS
    rps = poll(throughput, "PASS", timeout=10)
    assert rps.status is Status.PASS and rps.value is not None and rps.value > 5

    # Queries a real Prometheus answers badly: no series, several series, a parse error.
    empty = asyncio.run(query(prometheus, "demo_no_such_metric"))
    several = asyncio.run(query(prometheus, "demo_http_request_duration_seconds_bucket"))
    broken = asyncio.run(query(prometheus, "sum(rate(demo_http_requests_total[30s]"))
    assert empty.status is Status.INCONCLUSIVE and "no data" in empty.detail
    assert several.status is Status.ERROR and "aggregate with sum()/max()" in several.detail
    assert broken.status is Status.ERROR and "parse error" in broken.detail

    deploy = subprocess.run(
        [
            sys.executable,
            "-m",
            "cockpit",
            "demo-ctl",
            "deploy",
            "v2",
            "--state",
            str(stack.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert deploy.returncode == 0, deploy.stderr
    # v2 answers ~8 % 500s; the 30 s rate crosses 2 % within seconds. Poll to a deadline.
    failed = poll(error_rate, "FAIL", timeout=30)
    assert failed.status is Status.FAIL, failed
    assert failed.value is not None and failed.value >= 2
    assert f"{format_value(failed.value)} %, outside < 2 %" in failed.detail


def test_a_dead_target_is_not_pass_and_a_dead_prometheus_is_an_error(
    stack: DemoStack, prometheus: PrometheusServer
) -> None:
    profile = profile_for(stack, prometheus)
    error_rate = profile.metric("error-rate")
    assert poll(error_rate, "PASS", timeout=20).status is Status.PASS
    # Stop the service (and its load). A bare rate(x[30s]) would keep its last value for
    # 30 s; the freshness guard empties the answer once the scrape fails (staleness marker)
    # or the newest sample is 10 s old, which reads as no data.
    stack.stop()
    started = time.monotonic()
    gone = poll(error_rate, "INCONCLUSIVE", timeout=20)
    assert gone.status is Status.INCONCLUSIVE, gone
    assert "no data" in gone.detail
    assert time.monotonic() - started < 15

    prometheus.stop()
    dead = poll(error_rate, "ERROR", timeout=5)
    assert dead.status is Status.ERROR and "cannot connect" in dead.detail


def test_a_real_prometheus_answering_nan_or_inf_is_an_error_in_words(
    prometheus_factory: StartPrometheus,
) -> None:
    """PromQL's own non-finite numbers (0/0, 1/0), as scalars and as vectors."""
    import asyncio

    server = prometheus_factory([])
    for promql, word in (
        ("0/0", "NaN"),
        ("1/0", "+Inf"),
        ("-1/0", "-Inf"),
        ("vector(0/0)", "NaN"),
        ("vector(1/0)", "+Inf"),
    ):
        sample = asyncio.run(query(server, promql))
        assert sample.status is Status.ERROR, (promql, sample)
        assert sample.detail == f"value is {word}, not a finite number", (promql, sample)
