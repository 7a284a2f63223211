"""``cockpit demo-ctl`` against a real demo service: deploy, rollback, dry runs, status, smoke."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.demo import state
from cockpit.demo.stack import ServiceProcess
from tests.support.demo import get_json, run_cockpit, running_service, snapshot


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "state") as svc:
        yield svc


def ctl(state_dir: Path, *args: str) -> tuple[int, str, str]:
    result = run_cockpit("demo-ctl", *args, "--state", str(state_dir))
    return result.returncode, result.stdout, result.stderr


def test_deploy_switches_and_waits_for_readiness(service: ServiceProcess) -> None:
    started = time.monotonic()
    code, out, err = ctl(service.state_dir, "deploy", "v2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "switching v1 -> v2"
    assert lines[1] == "waiting for readiness"
    assert lines[2].startswith("ready: v2 after ")
    assert lines[2].endswith(" s")
    assert len(lines) == 3
    assert time.monotonic() - started >= 0.3  # at least the warm-up
    # It returned only once ready: the very next readiness answer says so.
    assert get_json(service.url + "/readyz") == (
        200,
        {"ready": True, "version": "v2", "serving": "v2"},
    )
    assert (service.state_dir / "current").read_text() == "v2\n"
    assert (service.state_dir / "previous").read_text() == "v1\n"
    leftovers = [p.name for p in service.state_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_deploy_same_version_keeps_previous(service: ServiceProcess) -> None:
    state.write_atomic(service.state_dir / "previous", "v2\n")
    code, out, err = ctl(service.state_dir, "deploy", "v1")
    assert code == 0, err
    assert out.startswith("switching v1 -> v1\n")
    assert (service.state_dir / "previous").read_text() == "v2\n"


def test_atomic_write_never_shows_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "current"
    state.write_atomic(path, "v1\n")
    seen: set[str] = set()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen.add(path.read_text())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(100):
            state.write_atomic(path, f"v{1 + i % 2}\n")
    finally:
        done.set()
        thread.join()
    assert seen <= {"v1\n", "v2\n"}
    assert len(seen) == 2  # the reader really raced the writer


def test_rollback_returns_to_previous(service: ServiceProcess) -> None:
    assert ctl(service.state_dir, "deploy", "v2")[0] == 0
    code, out, err = ctl(service.state_dir, "rollback")
    assert code == 0, err
    assert out.splitlines()[0] == "rolling back v2 -> v1"
    assert out.splitlines()[-1].startswith("ready: v1 after ")
    assert get_json(service.url + "/readyz")[1] == {
        "ready": True,
        "version": "v1",
        "serving": "v1",
    }
    assert (service.state_dir / "current").read_text() == "v1\n"
    # previous stays the rollback target: a second rollback never lands on the bad release.
    assert (service.state_dir / "previous").read_text() == "v1\n"


def test_rollback_without_previous_exits_1(service: ServiceProcess) -> None:
    code, out, err = ctl(service.state_dir, "rollback")
    assert code == 1
    assert "no previous version recorded" in err
    assert out == ""
    code, _, err = ctl(service.state_dir, "rollback", "--dry-run")
    assert code == 1
    assert "no previous version recorded" in err


def test_dry_runs_change_nothing(service: ServiceProcess) -> None:
    state.write_atomic(service.state_dir / "previous", "v1\n")
    before = snapshot(service.state_dir)

    code, out, err = ctl(service.state_dir, "deploy", "v2", "--dry-run")
    assert code == 0, err
    assert "would switch v1 -> v2" in out
    assert "nothing changed" in out
    assert out.splitlines()[-1] == "v2"  # the artifact identity, read by the artifact check

    code, out, err = ctl(service.state_dir, "rollback", "--dry-run")
    assert code == 0, err
    assert "would roll back v1 -> v1" in out
    assert out.splitlines()[-1] == "rollback path validated"

    assert snapshot(service.state_dir) == before
    assert "switching" not in service.log_path.read_text()
    assert get_json(service.url + "/readyz")[1]["version"] == "v1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy", "v3"), "unknown version 'v3': choose one of v1, v2"),
        (("deploy", "v3", "--dry-run"), "unknown version 'v3'"),
        (("deploy",), "deploy needs a VERSION"),
        (("rollback", "v1"), "rollback takes no VERSION"),
        (("deploy", "v2", "--timeout", "0"), "--timeout must be a positive number"),
        (("deploy", "v2", "--timeout", "nan"), "--timeout must be a positive number"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = ctl(tmp_path, *args)
    assert code == 2
    assert message in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dry_run", [False, True])
def test_deploy_when_service_is_down_exits_1(tmp_path: Path, dry_run: bool) -> None:
    state_dir = tmp_path / "state"
    with running_service(state_dir, wait_ready=False):
        pass  # started and stopped: the state dir is real, the service is gone
    before = snapshot(state_dir)
    code, out, err = ctl(state_dir, "deploy", "v2", *(["--dry-run"] if dry_run else []))
    assert code == 1
    assert "the demo service is not running" in err
    assert "cockpit demo-service --port 0 --state" in err  # says how to fix it
    assert out == ""
    assert {k: v for k, v in snapshot(state_dir).items() if k != "ctl.lock"} == before


def test_deploy_with_stale_pid_file_exits_1(tmp_path: Path) -> None:
    # A crashed service leaves service.pid behind; the pid may even be reused by another
    # process. demo-ctl must notice and never signal that process.
    state.write_atomic(tmp_path / "service.pid", "1\n")
    state.write_atomic(tmp_path / "service.port", "9\n")
    state.write_atomic(tmp_path / "current", "v1\n")
    code, _, err = ctl(tmp_path, "deploy", "v2")
    assert code == 1
    assert "does not answer on 127.0.0.1:9" in err
    assert (tmp_path / "current").read_text() == "v1\n"


def test_deploy_times_out_when_never_ready(tmp_path: Path) -> None:
    with running_service(tmp_path / "state", warmup=30.0, wait_ready=False) as svc:
        code, out, err = ctl(svc.state_dir, "deploy", "v2", "--timeout", "0.5")
    assert code == 1
    assert "waiting for readiness" in out
    assert "not ready: v2 after 0.5 s" in err


def test_status_prints_json(service: ServiceProcess) -> None:
    code, out, err = ctl(service.state_dir, "status")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["current"] == "v1"
    assert doc["previous"] is None
    assert doc["ready"] is True
    assert doc["running"] is True
    assert doc["port"] == service.port
    assert doc["pid"] == service.pid


def test_status_when_down_exits_1(tmp_path: Path) -> None:
    code, out, _ = ctl(tmp_path, "status")
    assert code == 1
    doc = json.loads(out)
    assert doc["running"] is False
    assert doc["ready"] is False
    assert "not running" in doc["error"]


def test_smoke_writes_evidence(service: ServiceProcess) -> None:
    before = time.time()
    code, out, err = ctl(service.state_dir, "smoke")
    assert code == 0, err
    assert out == "smoke: 20/20 OK on v1\n"
    evidence = service.state_dir / "smoke-passed"
    assert evidence.stat().st_mtime >= before - 1
    assert json.loads(evidence.read_text())["version"] == "v1"
    doc = get_json(service.url + "/stats")[1]
    assert doc["requests_total"] == 20


def test_smoke_when_down_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    code, _, err = ctl(tmp_path, "smoke")
    assert code == 1
    assert "not running" in err
    assert not (tmp_path / "smoke-passed").exists()
