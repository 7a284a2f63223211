"""HTTP probe against real local servers: answers, errors, garbage, hangs and drips."""

from __future__ import annotations

import time

import pytest

from cockpit.clock import SystemClock
from cockpit.probes import measure
from cockpit.profile.models import HttpSource, Threshold
from cockpit.sample import Sample, Status
from tests.unit.test_probe_fakeserver import FakeServer, closed_port, response


async def probe(
    url: str,
    *,
    threshold: Threshold | None = None,
    timeout: float = 3.0,
    secrets: tuple[str, ...] = (),
    **fields: object,
) -> Sample:
    source = HttpSource.model_validate({"kind": "http", "url": url, **fields})
    return await measure(
        source,
        id="m",
        threshold=threshold,
        unit="ms" if "json_path" not in fields else "%",
        timeout=timeout,
        clock=SystemClock(),
        secrets=secrets,
    )


async def test_latency_is_the_value_without_json_path() -> None:
    async with FakeServer() as server:
        server.text("/readyz", "ready")
        sample = await probe(server.url + "/readyz", threshold=Threshold(below=2000))
    assert sample.status is Status.PASS, sample
    assert sample.value is not None and 0 < sample.value < 2000
    assert sample.unit == "ms"
    assert "HTTP 200" in sample.detail


async def test_number_at_json_path_inside_and_outside_the_threshold() -> None:
    async with FakeServer() as server:
        server.json("/stats", {"window": {"error_rate_pct": 8.25}})
        url = server.url + "/stats"
        bad = await probe(url, json_path="window.error_rate_pct", threshold=Threshold(below=2))
        good = await probe(url, json_path="window.error_rate_pct", threshold=Threshold(below=10))
    assert bad.status is Status.FAIL
    assert bad.value == 8.25
    assert "8.25 %" in bad.detail and "< 2 %" in bad.detail
    assert good.status is Status.PASS and good.value == 8.25


async def test_missing_path_and_non_numbers_are_errors_with_the_path() -> None:
    async with FakeServer() as server:
        server.json("/a", {"window": {"rps": 3}})
        server.json("/b", {"window": {"p99_ms": "fast"}})
        server.json("/c", {"window": {"p99_ms": True}})
        server.json("/d", {"window": [1, 2]})
        server.raw("/nan", response(200, b'{"window": {"p99_ms": NaN}}'))
        server.text("/html", "<html>oops</html>")
        t = Threshold(below=100)
        missing = await probe(server.url + "/a", json_path="window.p99_ms", threshold=t)
        text = await probe(server.url + "/b", json_path="window.p99_ms", threshold=t)
        boolean = await probe(server.url + "/c", json_path="window.p99_ms", threshold=t)
        listed = await probe(server.url + "/d", json_path="window.p99_ms", threshold=t)
        nan = await probe(server.url + "/nan", json_path="window.p99_ms", threshold=t)
        html = await probe(server.url + "/html", json_path="window.p99_ms", threshold=t)
    for sample in (missing, text, boolean, listed, nan, html):
        assert sample.status is Status.ERROR, sample
        assert sample.value is None
    assert "window.p99_ms" in missing.detail
    assert "not a number" in text.detail
    assert "not a number" in boolean.detail
    assert "not an object" in listed.detail
    assert "nan" in nan.detail.lower()
    assert "not JSON" in html.detail


# Raw bodies (Python's json module reads NaN and Infinity); the threshold is "below 100".
HOSTILE_BODIES: list[tuple[str, bytes, Status, str]] = [
    ("NaN", b'{"v": NaN}', Status.ERROR, "v is NaN, not a finite number"),
    ("Infinity", b'{"v": Infinity}', Status.ERROR, "v is +Inf, not a finite number"),
    ("-Infinity", b'{"v": -Infinity}', Status.ERROR, "v is -Inf, not a finite number"),
    ("past float range", b'{"v": 1e999}', Status.ERROR, "v is +Inf, not a finite number"),
    ("401-digit integer", b'{"v": 1' + b"0" * 400 + b"}", Status.ERROR, "401-digit number"),
    ("1e300", b'{"v": 1e300}', Status.FAIL, "1e+300 %, outside < 100 %"),
    ("negative", b'{"v": -1}', Status.PASS, "-1 %, within < 100 %"),
    ('"NaN" as text', b'{"v": "NaN"}', Status.ERROR, "'v' is \"NaN\", not a number"),
    ("null", b'{"v": null}', Status.ERROR, "'v' is null, not a number"),
]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [c[1:] for c in HOSTILE_BODIES],
    ids=[c[0] for c in HOSTILE_BODIES],
)
async def test_hostile_json_values_are_never_pass_by_mistake(
    body: bytes, status: Status, detail: str
) -> None:
    async with FakeServer() as server:
        server.raw("/stats", response(200, body))
        sample = await probe(server.url + "/stats", json_path="v", threshold=Threshold(below=100))
    assert sample.status is status, sample
    assert detail in sample.detail, sample.detail
    assert "probe failed" not in sample.detail and "Error" not in sample.detail, sample.detail


async def test_unexpected_status_fails_a_readiness_probe_and_errors_a_carrier() -> None:
    async with FakeServer() as server:
        server.text("/readyz", "draining", status=503)
        server.json("/stats", {"window": {"rps": 5}}, status=500)
        readiness = await probe(server.url + "/readyz")
        carrier = await probe(server.url + "/stats", json_path="window.rps")
        accepted = await probe(server.url + "/readyz", expect_status=[503])
    assert readiness.status is Status.FAIL
    assert "HTTP 503" in readiness.detail and "draining" in readiness.detail
    assert carrier.status is Status.ERROR
    assert "HTTP 500" in carrier.detail
    assert accepted.status is Status.PASS


async def test_body_contains() -> None:
    async with FakeServer() as server:
        server.text("/", "status: degraded")
        missing = await probe(server.url + "/", body_contains="status: ok")
        present = await probe(server.url + "/", body_contains="degraded")
    assert missing.status is Status.FAIL and "status: ok" in missing.detail
    assert present.status is Status.PASS


async def test_refused_garbage_and_bad_urls_are_errors() -> None:
    async with FakeServer() as server:
        server.raw("/garbage", b"\x00\x01 this is not HTTP at all\r\n\r\n")
        garbage = await probe(server.url + "/garbage")
    refused = await probe(f"http://127.0.0.1:{closed_port()}/readyz")
    bad_url = await probe("ftp://127.0.0.1/x")
    assert garbage.status is Status.ERROR and "not a valid HTTP answer" in garbage.detail
    assert refused.status is Status.ERROR and "cannot connect" in refused.detail
    assert bad_url.status is Status.ERROR


async def test_a_hung_endpoint_ends_at_the_total_deadline() -> None:
    async with FakeServer() as server:
        server.hang("/hang")
        started = time.monotonic()
        sample = await probe(server.url + "/hang", timeout=0.3)
        elapsed = time.monotonic() - started
    assert sample.status is Status.ERROR
    assert "0.3s deadline" in sample.detail
    assert elapsed < 2.0


async def test_a_dripping_body_is_cut_by_the_total_deadline_not_per_phase_timeouts() -> None:
    # Each byte arrives well within httpx's per-read timeout; only a total deadline ends it.
    async with FakeServer() as server:
        server.drip("/drip", every=0.02)
        started = time.monotonic()
        sample = await probe(server.url + "/drip", timeout=0.5)
        elapsed = time.monotonic() - started
    assert sample.status is Status.ERROR and "deadline" in sample.detail
    assert elapsed < 2.5


async def test_secrets_are_redacted_from_the_detail() -> None:
    secret = "s3cr3t-token-value"
    async with FakeServer() as server:
        server.text("/x", f"denied for token {secret}", status=401)
        sample = await probe(
            server.url + "/x", headers={"Authorization": f"Bearer {secret}"}, secrets=(secret,)
        )
        sent = server.requests[-1].headers["authorization"]
    assert sent == f"Bearer {secret}"
    assert sample.status is Status.FAIL
    assert secret not in sample.detail and "[REDACTED]" in sample.detail
