"""A real Prometheus scrapes the real demo stack; the query API returns live traffic."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.demo.stack import DemoStack
from tests.support import prometheus as prometheus_support
from tests.support.demo import pid_alive
from tests.support.prometheus import PrometheusServer, StartPrometheus

# Register the support module's fixture here (the suite's conftest may do it for everyone).
prometheus_factory = prometheus_support.prometheus_factory


@pytest.mark.prometheus
def test_prometheus_sees_the_demo_traffic(
    tmp_path: Path, prometheus_factory: StartPrometheus
) -> None:
    with DemoStack(tmp_path / "demo", rate=40.0, warmup=0.3) as stack:
        prometheus = prometheus_factory([f"127.0.0.1:{stack.port}"])
        assert prometheus.url.startswith("http://127.0.0.1:")
        rps = prometheus.wait_for_value(
            "sum(rate(demo_http_requests_total[30s]))", timeout=30, accept=lambda v: v > 0
        )
        # Early on rate() extrapolates over few samples and reads low; only the sign is sure.
        assert 0 < rps < 200
        up = prometheus.wait_for_value('up{job="demo"}', timeout=10)
        assert up == 1
        errors = prometheus.query('demo_http_requests_total{code="500"}')
        assert errors, "the 500 series exists from the start, so rate() works before any error"


@pytest.mark.prometheus
def test_prometheus_stops_without_leftovers() -> None:
    with PrometheusServer(["127.0.0.1:9"], scrape_interval="1s") as server:
        assert server.proc is not None
        pid = server.proc.pid
        workdir = server.workdir
        assert workdir is not None
        assert server.query("vector(1)")[0]["value"][1] == "1"  # type: ignore[index]
    assert not pid_alive(pid)
    assert not workdir.exists()
