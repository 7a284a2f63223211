"""Prometheus probe against an imitation of the query API: the edge cases a real server
does not easily produce (status error, warnings, NaN, several series, stale timestamps)."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.clock import FakeClock
from cockpit.probes import measure
from cockpit.profile.models import PrometheusSource, Threshold
from cockpit.sample import Sample, Status
from tests.unit.test_probe_fakeserver import FakeServer, closed_port

NOW = 1_800_000_000.0


def vector(*values: str, ts: float = NOW) -> dict[str, Any]:
    result = [{"metric": {"code": str(200 + i)}, "value": [ts, v]} for i, v in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


async def ask(
    doc: dict[str, Any] | str,
    *,
    status: int = 200,
    threshold: Threshold | None = None,
    staleness: float | None = 10.0,
    query: str = "sum(rate(x[30s]))",
) -> tuple[Sample, list[str]]:
    async with FakeServer() as server:
        if isinstance(doc, str):
            server.text("/api/v1/query", doc, status=status)
        else:
            server.prometheus(lambda q: (status, doc))
        source = PrometheusSource(kind="prometheus", url=server.url + "/", query=query)
        sample = await measure(
            source,
            id="error-rate",
            threshold=threshold or Threshold(below=2),
            unit="%",
            timeout=3.0,
            clock=FakeClock(wall=NOW + 1),
            staleness=staleness,
        )
        return sample, [r.query.get("query", "") for r in server.requests]


async def test_a_single_series_is_judged_and_the_query_is_sent() -> None:
    good, queries = await ask(vector("0.5"), query='sum(rate(demo{code="500"}[30s]))')
    bad, _ = await ask(vector("8.1"))
    assert queries == ['sum(rate(demo{code="500"}[30s]))']
    assert good.status is Status.PASS and good.value == 0.5
    assert bad.status is Status.FAIL and bad.value == 8.1 and "8.1 %" in bad.detail


async def test_a_scalar_is_its_value() -> None:
    doc = {"status": "success", "data": {"resultType": "scalar", "result": [NOW, "1.5"]}}
    sample, _ = await ask(doc)
    assert sample.status is Status.PASS and sample.value == 1.5


async def test_status_error_is_an_error_with_prometheus_text() -> None:
    doc = {"status": "error", "errorType": "bad_data", "error": "1:6: parse error: unclosed"}
    sample, _ = await ask(doc, status=400)
    assert sample.status is Status.ERROR
    assert "bad_data" in sample.detail and "parse error: unclosed" in sample.detail


async def test_warnings_are_never_pass() -> None:
    doc = vector("0.1")
    doc["warnings"] = ["partial response: store eu-1 unreachable"]
    sample, _ = await ask(doc)
    assert sample.status is Status.INCONCLUSIVE
    assert "store eu-1 unreachable" in sample.detail


@pytest.mark.parametrize("text", ["NaN", "+Inf", "-Inf"])
async def test_non_finite_values_are_errors(text: str) -> None:
    sample, _ = await ask(vector(text), threshold=Threshold(above=-1))
    assert sample.status is Status.ERROR
    assert sample.value is None


async def test_several_series_must_be_aggregated() -> None:
    sample, _ = await ask(vector("1", "2", "3", "4"))
    assert sample.status is Status.ERROR
    assert "4 series" in sample.detail and "aggregate with sum()/max()" in sample.detail


async def test_an_empty_vector_is_no_data() -> None:
    sample, _ = await ask(vector())
    assert sample.status is Status.INCONCLUSIVE and "no data" in sample.detail


async def test_an_old_timestamp_is_stale() -> None:
    stale, _ = await ask(vector("0.1", ts=NOW - 60), staleness=10)
    fresh, _ = await ask(vector("0.1", ts=NOW - 5), staleness=10)
    assert stale.status is Status.INCONCLUSIVE and "stale" in stale.detail
    assert fresh.status is Status.PASS


async def test_malformed_answers_are_errors() -> None:
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    broken = {"status": "success", "data": {"resultType": "vector", "result": [{"value": 3}]}}
    for doc in (matrix, broken):
        sample, _ = await ask(doc)
        assert sample.status is Status.ERROR, doc
    gateway, _ = await ask("<html>Bad Gateway</html>", status=502)
    assert gateway.status is Status.ERROR and "HTTP 502" in gateway.detail


async def test_an_unreachable_server_is_an_error() -> None:
    source = PrometheusSource(
        kind="prometheus", url=f"http://127.0.0.1:{closed_port()}", query="up"
    )
    sample = await measure(
        source, id="m", threshold=Threshold(below=1), unit="", timeout=2, clock=FakeClock()
    )
    assert sample.status is Status.ERROR and "cannot connect" in sample.detail
