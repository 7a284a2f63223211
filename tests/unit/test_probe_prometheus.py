"""Prometheus probe against an imitation of the query API: the edge cases a real server
does not easily produce (status error, warnings, NaN, several series, timestamps that are
stale, from the future or not numbers)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import FakeClock
from cockpit.probes import measure, run_check, sample_metric
from cockpit.profile.loader import load_profile
from cockpit.profile.models import Check, Metric, PrometheusSource, Threshold
from cockpit.sample import Sample, Status
from tests.unit.test_probe_fakeserver import FakeServer, closed_port

NOW = 1_800_000_000.0
DEMO = load_profile(Path(__file__).resolve().parents[2] / "profiles" / "demo.toml")


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


def series_at(ts: Any, value: Any) -> dict[str, Any]:
    """A one-series vector whose sample is ``[ts, value]``, whatever their types."""
    result = [{"metric": {"job": "web"}, "value": [ts, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def scalar_at(ts: Any, value: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": [ts, value]}}


# The clock reads NOW + 1 in every case; the threshold is "below 2" (a check has no unit).
HOSTILE: list[tuple[str, dict[str, Any], Status, str]] = [
    ("value NaN", series_at(NOW, "NaN"), Status.ERROR, "value is NaN, not a finite number"),
    ("value +Inf", series_at(NOW, "+Inf"), Status.ERROR, "value is +Inf, not a finite number"),
    ("value -Inf", series_at(NOW, "-Inf"), Status.ERROR, "value is -Inf, not a finite number"),
    ("value past float range", series_at(NOW, "1e999"), Status.ERROR, "value is +Inf"),
    ("value 1e300", series_at(NOW, "1e300"), Status.FAIL, "1e+300"),
    # A negative number is a measurement: the threshold decides (between = [0, 2] refuses it).
    ("value negative", series_at(NOW, "-1"), Status.PASS, "within < 2"),
    ("value garbage", series_at(NOW, "1.5; rm"), Status.ERROR, "value '1.5; rm' is not a number"),
    ("value empty", series_at(NOW, ""), Status.ERROR, "value '' is not a number"),
    ("value a JSON number", series_at(NOW, 1.5), Status.ERROR, "not [timestamp, value]"),
    ("value null", series_at(NOW, None), Status.ERROR, "not [timestamp, value]"),
    ("timestamp NaN", series_at(math.nan, "1"), Status.ERROR, "timestamp is NaN, not a time"),
    ("timestamp +Inf", series_at(math.inf, "1"), Status.ERROR, "timestamp is +Inf, not a time"),
    ("timestamp -Inf", series_at(-math.inf, "1"), Status.ERROR, "timestamp is -Inf, not a time"),
    (
        "timestamp an hour ahead",
        series_at(NOW + 3601, "1"),
        Status.ERROR,
        "timestamp is in the future by 3600 s",
    ),
    ("timestamp 6 s ahead", series_at(NOW + 7, "1"), Status.ERROR, "in the future by 6 s"),
    ("timestamp 4 s ahead (clock skew)", series_at(NOW + 5, "1"), Status.PASS, "within < 2"),
    ("timestamp 1e300", series_at(1e300, "1"), Status.ERROR, "in the future by 1e+300 s"),
    ("timestamp 401 digits", series_at(10**400, "1"), Status.ERROR, "401-digit number"),
    ("timestamp an hour old", series_at(NOW - 3599, "1"), Status.INCONCLUSIVE, "3600 s old"),
    ("timestamp negative", series_at(-5, "1"), Status.INCONCLUSIVE, "stale: value 1 is"),
    ("timestamp zero", series_at(0, "1"), Status.INCONCLUSIVE, "stale: value 1 is"),
    ("timestamp a string", series_at("now", "1"), Status.ERROR, "not [timestamp, value]"),
    ("timestamp true", series_at(True, "1"), Status.ERROR, "not [timestamp, value]"),
    ("scalar NaN", scalar_at(NOW, "NaN"), Status.ERROR, "value is NaN"),
    ("scalar from the future", scalar_at(NOW + 3601, "1"), Status.ERROR, "in the future"),
    ("two series", vector("0.1", "0.2"), Status.ERROR, "2 series; aggregate with sum()/max()"),
    ("empty vector", vector(), Status.INCONCLUSIVE, "no data"),
    (
        "matrix instead of vector",
        {"status": "success", "data": {"resultType": "matrix", "result": []}},
        Status.ERROR,
        "range vector",
    ),
    (
        "string result",
        {"status": "success", "data": {"resultType": "string", "result": [NOW, "1"]}},
        Status.ERROR,
        "result type 'string'",
    ),
    ("no data object", {"status": "success"}, Status.ERROR, "no data object"),
]


def metric_of(url: str) -> Metric:
    return Metric.model_validate(
        {
            "id": "error-rate",
            "title": "5xx rate",
            "unit": "%",
            "threshold": {"below": 2},
            "staleness": "10s",
            "source": {"kind": "prometheus", "url": url, "query": "sum(rate(x[30s]))"},
        }
    )


def check_of(url: str) -> Check:
    return Check.model_validate(
        {
            "id": "error-rate",
            "title": "5xx rate",
            "threshold": {"below": 2},
            "source": {"kind": "prometheus", "url": url, "query": "sum(rate(x[30s]))"},
        }
    )


@pytest.mark.parametrize("via", ["metric", "check"])
@pytest.mark.parametrize(
    ("doc", "status", "detail"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
async def test_hostile_answers_are_never_pass_by_mistake(
    via: str, doc: dict[str, Any], status: Status, detail: str
) -> None:
    """Through both real entry points (a stop-point metric, a readiness check)."""
    clock = FakeClock(wall=NOW + 1)
    async with FakeServer() as server:
        server.prometheus(lambda q: (200, doc))
        if via == "metric":
            sample = await sample_metric(metric_of(server.url), clock=clock)
        else:
            sample = await run_check(check_of(server.url), DEMO, clock=clock)
    assert sample.status is status, sample
    assert detail in sample.detail, sample.detail
    # Plain words, never the text of a Python exception.
    assert "probe failed" not in sample.detail and "Error" not in sample.detail, sample.detail
    if status is Status.ERROR:
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


async def detail_of(doc: dict[str, Any] | str, status: int = 200) -> str:
    """The ERROR detail the probe gives for an answer."""
    sample, _ = await ask(doc, status=status)
    assert sample.status is Status.ERROR, sample
    assert sample.value is None
    return sample.detail


def scalar(result: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": result}}


def series(*items: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": list(items)}}


async def test_two_series_must_be_aggregated_and_both_are_named() -> None:
    assert await detail_of(vector("1", "2")) == (
        'Prometheus: 2 series; aggregate with sum()/max() ({code="200"}, {code="201"})'
    )
    assert await detail_of(vector("1", "2", "3")) == (
        'Prometheus: 3 series; aggregate with sum()/max() ({code="200"}, {code="201"}, …)'
    )


async def test_series_labels_leave_out_the_metric_name() -> None:
    named = {"metric": {"__name__": "up", "job": "api"}, "value": [NOW, "1"]}
    bare = {"metric": None, "value": [NOW, "1"]}
    assert await detail_of(series(named, bare)) == (
        'Prometheus: 2 series; aggregate with sum()/max() ({job="api"}, {})'
    )


@pytest.mark.parametrize(
    ("doc", "detail"),
    [
        (scalar({"t": NOW}), "value is an object, not [timestamp, value]"),
        (scalar([NOW, "1", 3]), "value is a list of 3, not [timestamp, value]"),
        (scalar([True, "1"]), "value is [true, '1'], not [timestamp, value]"),
        (scalar(["now", "1"]), "value is ['now', '1'], not [timestamp, value]"),
        (scalar([NOW, 1.5]), "value is [1800000000.0, 1.5], not [timestamp, value]"),
        (scalar([NOW, "fast"]), "value 'fast' is not a number"),
        ({"status": "success", "data": [1]}, "the answer has no data object"),
        (
            {"status": "success", "data": {"resultType": "vector", "result": {"a": 1}}},
            "the vector result is not a list",
        ),
        (series(5), "a series is not an object"),
        (
            {"status": "success", "data": {"resultType": "matrix", "result": []}},
            "the query returned a range vector; write an instant query",
        ),
        (
            {"status": "success", "data": {"resultType": "string", "result": [NOW, "x"]}},
            "result type 'string'; write a query that returns a number",
        ),
    ],
)
async def test_each_malformed_answer_says_what_is_wrong(doc: dict[str, Any], detail: str) -> None:
    assert await detail_of(doc) == f"Prometheus: {detail}"


async def test_answers_that_are_not_a_query_result() -> None:
    html = "<html><body>" + "Bad Gateway " * 10 + "</body></html>"
    assert await detail_of(html, status=502) == (
        "Prometheus answered HTTP 502 with non-JSON: "
        "'<html><body>Bad Gateway Bad Gateway Bad Gateway Bad Gateway…'"
    )
    assert await detail_of("[1, 2]") == (
        "Prometheus answered HTTP 200 with JSON that is not an object"
    )
    assert await detail_of(vector("0.5"), status=503) == "Prometheus answered HTTP 503"
    assert await detail_of({"status": "error"}, status=500) == (
        "Prometheus error (HTTP 500): status 'error'"
    )


async def test_a_value_exactly_as_old_as_the_staleness_is_fresh() -> None:
    edge, _ = await ask(vector("0.1", ts=NOW - 9), staleness=10)  # the clock is at NOW + 1
    assert edge.status is Status.PASS
    older, _ = await ask(vector("0.1", ts=NOW - 10), staleness=10)
    assert older.status is Status.INCONCLUSIVE
    assert older.detail == "stale: value 0.1 is 11 s old (staleness 10 s)"
    assert older.value == 0.1


async def test_without_a_staleness_the_default_staleness_holds() -> None:
    # A readiness check has no staleness of its own: an hour-old value is not a PASS.
    recent, _ = await ask(vector("0.1", ts=NOW - 5), staleness=None)
    assert recent.status is Status.PASS
    old, _ = await ask(vector("0.1", ts=NOW - 3600), staleness=None)
    assert old.status is Status.INCONCLUSIVE
    assert old.detail == "stale: value 0.1 is 3601 s old (staleness 10 s)"


async def test_warnings_keep_the_value_and_may_be_one_string() -> None:
    doc = vector("0.1")
    doc["warnings"] = "partial response"
    sample, _ = await ask(doc)
    assert sample.status is Status.INCONCLUSIVE
    assert sample.detail == "Prometheus warned: partial response"
    assert sample.value == 0.1
    doc["warnings"] = []
    assert (await ask(doc))[0].status is Status.PASS


async def test_the_source_headers_are_sent() -> None:
    async with FakeServer() as server:
        server.prometheus(lambda q: (200, vector("0.5")))
        source = PrometheusSource(
            kind="prometheus", url=server.url, query="up", headers={"X-Scope-OrgID": "team-a"}
        )
        sample = await measure(
            source, id="m", threshold=Threshold(below=1), unit="", timeout=3, clock=FakeClock()
        )
        assert sample.status is Status.PASS
        assert server.requests[0].headers["x-scope-orgid"] == "team-a"


async def test_an_answer_too_large_is_an_error() -> None:
    async with FakeServer() as server:
        server.text("/api/v1/query", "x" * 1_000_001)
        source = PrometheusSource(kind="prometheus", url=server.url, query="up")
        sample = await measure(
            source, id="m", threshold=Threshold(below=1), unit="", timeout=5, clock=FakeClock()
        )
    assert sample.status is Status.ERROR
    assert sample.detail == "Prometheus: body larger than 1000000 bytes"
