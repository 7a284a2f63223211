"""``cockpit demo-load``: loopback only, a steady bounded rate, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.demo.load import Target, parse_target
from cockpit.demo.stack import ServiceProcess, cockpit_argv, terminate
from tests.support.demo import run_cockpit, running_service, stats, wait_until


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "state") as svc:
        yield svc


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://127.0.0.1:8080/", Target("127.0.0.1", 8080, "/")),
        ("http://127.0.0.2:8080", Target("127.0.0.2", 8080, "/")),
        ("http://localhost:81/x?y=1", Target("127.0.0.1", 81, "/x?y=1")),
        ("http://[::1]:9000/", Target("::1", 9000, "/")),
    ],
)
def test_loopback_urls_are_accepted(url: str, target: Target) -> None:
    assert parse_target(url) == target


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/", "refusing to send load to example.com"),
        ("http://10.0.0.1:8080/", "refusing to send load to 10.0.0.1"),
        ("http://0.0.0.0:8080/", "refusing to send load to 0.0.0.0"),
        ("https://127.0.0.1/", "only http:// URLs"),
        ("127.0.0.1:8080", "only http:// URLs"),
    ],
)
def test_non_loopback_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="--url") as info:
        parse_target(url)
    assert message in str(info.value)


def test_cli_refuses_a_non_loopback_url() -> None:
    result = run_cockpit("demo-load", "--url", "http://example.com/", "--duration", "1")
    assert result.returncode == 2
    assert "refusing to send load to example.com" in result.stderr
    assert "loopback" in result.stderr


@pytest.mark.parametrize("rate", ["0", "-1", "nan", "inf", "100000"])
def test_cli_refuses_a_bad_rate(rate: str) -> None:
    result = run_cockpit("demo-load", "--url", "http://127.0.0.1:9/", "--rate", rate)
    assert result.returncode == 2
    assert "--rate must be" in result.stderr


def test_rate_is_steady_and_bounded(service: ServiceProcess) -> None:
    result = run_cockpit("demo-load", "--url", service.url + "/", "--rate", "50", "--duration", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("demo-load: ")
    total = stats(service.url)["requests_total"]
    assert 80 <= total <= 110  # 2 s at 50/s, no burst beyond the schedule


def test_sigterm_stops_the_load(service: ServiceProcess) -> None:
    proc = subprocess.Popen(
        cockpit_argv("demo-load", "--url", service.url + "/", "--rate", "100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until(lambda: stats(service.url)["requests_total"] >= 20, what="load to arrive")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=5)
        assert proc.returncode == 0
        assert b"demo-load: " in out  # the summary at exit, nothing per request
        assert out.count(b"\n") == 1
    finally:
        terminate(proc)


def test_unreachable_target_is_counted_not_fatal(tmp_path: Path) -> None:
    # Port 9 (discard) is closed on loopback: every request fails to connect.
    result = run_cockpit(
        "demo-load", "--url", "http://127.0.0.1:9/", "--rate", "20", "--duration", "0.5"
    )
    assert result.returncode == 0, result.stderr
    assert "connection failures" in result.stdout
    assert "connection failures 0" not in result.stdout
