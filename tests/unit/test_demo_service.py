"""The demo service over real HTTP: endpoints, formats, readiness and the two versions."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.demo import state
from cockpit.demo.service import WARMUP_S
from cockpit.demo.stack import ServiceProcess
from tests.support.demo import (
    burst,
    client,
    get_json,
    run_cockpit,
    running_service,
    stats,
    wait_until,
)

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line; fails on a malformed line."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "state") as svc:
        yield svc


def test_endpoints_and_formats(service: ServiceProcess) -> None:
    url = service.url
    with client() as http:
        health = http.get(url + "/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "pid": service.pid}

        ready = http.get(url + "/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "version": "v1", "serving": "v1"}

        for _ in range(7):
            work = http.get(url + "/")
            assert work.status_code == 200
            assert work.text == "ok\n"
        assert http.get(url + "/nope").status_code == 404

        metrics = http.get(url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "# TYPE demo_http_requests_total counter" in text
    assert "# TYPE demo_http_request_duration_seconds histogram" in text
    samples = parse_metrics(text)
    # Only the work requests count: health, readiness, 404 and metrics calls do not.
    assert samples['demo_http_requests_total{code="200"}'] == 7
    assert samples['demo_http_requests_total{code="500"}'] == 0
    buckets = [
        (k, v)
        for k, v in samples.items()
        if k.startswith("demo_http_request_duration_seconds_bucket")
    ]
    assert buckets[-1][0] == 'demo_http_request_duration_seconds_bucket{le="+Inf"}'
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "histogram buckets must be cumulative"
    assert counts[-1] == samples["demo_http_request_duration_seconds_count"] == 7
    # v1 answers in 5–20 ms: the sum of 7 requests lies between 7x5 ms and 7x(20 ms + slack).
    assert 0.035 <= samples["demo_http_request_duration_seconds_sum"] < 7 * 0.2
    assert samples['demo_version_info{version="v1"}'] == 1
    assert samples["demo_ready"] == 1

    doc = stats(url)
    assert doc["version"] == "v1"
    assert doc["ready"] is True
    assert doc["uptime_s"] > 0
    assert doc["requests_total"] == 7
    assert doc["errors_total"] == 0
    window = doc["window"]
    assert window["requests"] == 7
    assert window["error_rate_pct"] == 0
    assert 5.0 <= window["p99_ms"] < 200.0
    assert window["rps"] > 0


def test_empty_window_reports_null_not_zero(service: ServiceProcess) -> None:
    window = stats(service.url)["window"]
    assert window["requests"] == 0
    # No traffic is no measurement: a check must not read it as a healthy 0 %.
    assert window["error_rate_pct"] is None
    assert window["p99_ms"] is None


def test_readyz_503_while_warming_up_then_200(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with running_service(state_dir, wait_ready=False, warmup=None) as svc:
        started = time.monotonic()
        code, doc = get_json(svc.url + "/readyz")
        assert code == 503
        assert doc == {"ready": False, "version": "v1", "serving": "v1"}
        with client() as http:
            assert http.get(svc.url + "/healthz").status_code == 200  # alive while not ready
            assert "demo_ready 0" in http.get(svc.url + "/metrics").text
        wait_until(lambda: get_json(svc.url + "/readyz")[0] == 200, timeout=10, what="readyz 200")
        assert time.monotonic() - started >= WARMUP_S - 0.6  # it really waited

        # A switch (file rewritten + SIGHUP) warms up again; the old version serves meanwhile.
        state.write_atomic(state_dir / state.CURRENT, "v2\n")
        assert svc.pid is not None
        os.kill(svc.pid, signal.SIGHUP)
        # The warm-up lasts 1.5 s: a 1 s deadline cannot miss it, only a missed signal can.
        wait_until(
            lambda: (
                get_json(svc.url + "/readyz")
                == (503, {"ready": False, "version": "v2", "serving": "v1"})
            ),
            timeout=1.0,
            what="readyz 503 warming up v2 while v1 serves",
        )
        wait_until(
            lambda: (
                get_json(svc.url + "/readyz")
                == (200, {"ready": True, "version": "v2", "serving": "v2"})
            ),
            timeout=10,
            what="v2 ready",
        )


def test_switch_without_signal_is_noticed_by_polling(service: ServiceProcess) -> None:
    state.write_atomic(service.state_dir / state.CURRENT, "v2\n")
    wait_until(
        lambda: get_json(service.url + "/readyz")[1]["version"] == "v2",
        timeout=2,
        what="the poll to notice the new version",
    )


def test_unknown_version_in_file_is_ignored(service: ServiceProcess) -> None:
    state.write_atomic(service.state_dir / state.CURRENT, "v9\n")
    wait_until(
        lambda: "ignoring unknown version 'v9'" in service.log_path.read_text(),
        timeout=5,
        what="the service to log the bad version",
    )
    assert get_json(service.url + "/readyz") == (
        200,
        {"ready": True, "version": "v1", "serving": "v1"},
    )


def test_v1_has_no_errors_under_load(service: ServiceProcess) -> None:
    result = run_cockpit(
        "demo-load", "--url", service.url + "/", "--rate", "150", "--duration", "1.5"
    )
    assert result.returncode == 0, result.stderr
    window = stats(service.url)["window"]
    assert window["requests"] >= 100
    assert window["error_rate_pct"] == 0
    assert window["p99_ms"] < 250  # the demo profile's stop-point threshold


def test_v2_is_a_bad_release(service: ServiceProcess) -> None:
    burst(service.url + "/", 200)
    v1 = stats(service.url)["window"]
    assert v1["error_rate_pct"] == 0

    deployed = run_cockpit("demo-ctl", "deploy", "v2", "--state", str(service.state_dir))
    assert deployed.returncode == 0, deployed.stderr
    # The window restarts with the new version, so it describes v2 alone.
    assert stats(service.url)["window"]["requests"] == 0

    codes = burst(service.url + "/", 400)
    assert set(codes) == {200, 500}
    doc = stats(service.url)
    window = doc["window"]
    assert window["requests"] == 400
    assert window["errors"] == codes.count(500)
    assert 3.0 <= window["error_rate_pct"] <= 15.0
    assert window["p99_ms"] >= 250.0
    assert window["p99_ms"] > 2 * v1["p99_ms"]
    assert doc["requests_total"] == 600
    assert doc["errors_total"] == codes.count(500)


def test_sigterm_stops_cleanly_and_removes_run_files(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with running_service(state_dir, wait_ready=False) as svc:
        assert svc.proc is not None
        proc = svc.proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    assert not (state_dir / state.PID_FILE).exists()
    assert not (state_dir / state.PORT_FILE).exists()
    assert (state_dir / state.CURRENT).read_text() == "v1\n"


def test_second_service_on_same_state_dir_is_refused(service: ServiceProcess) -> None:
    result = run_cockpit("demo-service", "--port", "0", "--state", str(service.state_dir))
    assert result.returncode == 1
    assert "another demo service already runs" in result.stderr
    assert get_json(service.url + "/healthz")[1]["pid"] == service.pid


def test_port_in_use_exits_1(service: ServiceProcess, tmp_path: Path) -> None:
    result = run_cockpit(
        "demo-service", "--port", str(service.port), "--state", str(tmp_path / "b")
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{service.port}" in result.stderr


def test_demo_imports_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "import cockpit.demo.service, cockpit.demo.control, cockpit.demo.load, cockpit.demo.stack\n"
        "print(sorted(m for m in ('textual', 'pydantic', 'httpx', 'psutil', 'rich') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_answers_go_out_without_waiting_for_the_clients_ack(tmp_path: Path) -> None:
    """The head and the body are written apart: on a kept-alive connection Nagle's algorithm
    held the body until the client's delayed ACK (40 ms an answer, which the demo's readiness
    latency then showed). The connections the service accepts have TCP_NODELAY."""
    import http.client
    import socket
    import threading

    from cockpit.demo.service import DemoService, _Server

    accepted: list[socket.socket] = []

    class Recording(_Server):
        def get_request(self) -> tuple[socket.socket, object]:
            sock, address = super().get_request()
            accepted.append(sock)
            return sock, address

    server = Recording(0, DemoService(tmp_path, "v1", warmup=0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        for _ in range(2):  # the second on the same connection: kept alive
            connection.request("GET", "/readyz")
            assert connection.getresponse().read()
        assert len(accepted) == 1  # still open: the connection is kept alive
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
