"""``cockpit demo-ctl``: deploy, roll back, inspect and smoke-test the demo service.

``deploy VERSION`` records ``previous := current``, rewrites ``current`` atomically,
signals the service (SIGHUP) and waits until ``/readyz`` reports that version ready.
``deploy VERSION --dry-run`` prints the version alone as its last line: the artifact
identity that the demo profile's artifact check compares with the approved tag.
``rollback`` switches to ``previous`` the same way and leaves ``previous`` alone, so a
second rollback never lands on the bad release. ``--dry-run`` checks everything and
changes nothing. Exit status: 0 done, 1 failed (service down, not ready in time, smoke
failed), 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cockpit.demo import state

SMOKE_REQUESTS = 20
"""Work requests sent by ``demo-ctl smoke``."""

_HTTP_TIMEOUT_S = 3.0
_READY_POLL_S = 0.1


class ControlError(Exception):
    """A failure to report in one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServiceInfo:
    """A running, reachable demo service."""

    pid: int
    port: int

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"


def http_get(port: int, path: str, timeout: float = _HTTP_TIMEOUT_S) -> tuple[int, bytes]:
    """GET ``path`` from 127.0.0.1:``port``; returns status and body.

    http.client, not urllib: a loopback call must never go through an ``http_proxy``.

    Raises:
        OSError: connection refused, timeout or a broken answer.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {exc!r}") from exc
    finally:
        conn.close()


def get_json(port: int, path: str) -> tuple[int, dict[str, object]]:
    """GET a JSON document; raises OSError when it is not a JSON object."""
    status, body = http_get(port, path)
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise OSError(f"{path} answered {status} with non-JSON: {body[:80]!r}") from exc
    if not isinstance(doc, dict):
        raise OSError(f"{path} answered {status} with JSON that is not an object")
    return status, doc


def find_service(state_dir: Path) -> ServiceInfo:
    """The running service of ``state_dir``, checked end to end.

    Raises:
        ControlError: when no service runs there or it does not answer.
    """
    how = f"start it with: cockpit demo-service --port 0 --state {state_dir}"
    pid = state.read_int(state_dir / state.PID_FILE)
    port = state.read_int(state_dir / state.PORT_FILE)
    if pid is None or port is None:
        raise ControlError(
            f"the demo service is not running (no service.pid in {state_dir}); {how}"
        )
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise ControlError(
            f"the demo service is not running (pid {pid} from {state_dir}/service.pid is gone); "
            f"{how}"
        ) from None
    except PermissionError:
        pass  # alive but someone else's: /healthz below tells whether it is ours
    try:
        status, doc = get_json(port, "/healthz")
    except OSError as exc:
        raise ControlError(
            f"the demo service (pid {pid}) does not answer on 127.0.0.1:{port}: {exc}"
        ) from None
    # A recycled pid must never receive our SIGHUP: the service names its own pid.
    if status != 200 or doc.get("pid") != pid:
        raise ControlError(
            f"127.0.0.1:{port} is not the demo service of {state_dir} "
            f"(healthz {status}, pid {doc.get('pid')!r}, expected {pid})"
        )
    return ServiceInfo(pid=pid, port=port)


def _validate_version(version: str | None) -> str:
    if version is None:
        raise ControlError("deploy needs a VERSION: one of " + ", ".join(state.VERSIONS), 2)
    if version not in state.VERSIONS:
        raise ControlError(
            f"unknown version {version!r}: choose one of " + ", ".join(state.VERSIONS), 2
        )
    return version


def _switch(
    state_dir: Path,
    target: str,
    *,
    rollback: bool,
    dry_run: bool,
    timeout: float,
    out: TextIO,
) -> None:
    """Switch the service of ``state_dir`` to ``target`` and wait until it is ready."""
    if not state_dir.is_dir():
        raise ControlError(f"the demo service is not running: no state directory {state_dir}")
    if dry_run:
        # No lock either: a dry run must not even create a file.
        info = find_service(state_dir)
        current = state.read_version(state_dir / state.CURRENT)
        print(
            f"dry run: would {'roll back' if rollback else 'switch'} {current or '(none)'} -> "
            f"{target}; service pid {info.pid} reachable on port {info.port}; nothing changed",
            file=out,
            flush=True,
        )
        if not rollback:
            # The artifact check of the demo profile reads the last line as the identity.
            print(target, file=out, flush=True)
        return
    with state.locked(state_dir / state.CTL_LOCK, timeout=timeout) as acquired:
        if not acquired:
            raise ControlError(f"another demo-ctl is changing {state_dir}; try again")
        info = find_service(state_dir)
        current = state.read_version(state_dir / state.CURRENT)
        verb = "rolling back" if rollback else "switching"
        shown = current or "(none)"
        print(f"{verb} {shown} -> {target}", file=out, flush=True)
        started = time.monotonic()
        if not rollback and current is not None and current != target:
            state.write_atomic(state_dir / state.PREVIOUS, current + "\n")
        state.write_atomic(state_dir / state.CURRENT, target + "\n")
        try:
            os.kill(info.pid, signal.SIGHUP)
        except ProcessLookupError:
            raise ControlError(
                f"the demo service (pid {info.pid}) died before it could switch to {target}"
            ) from None
        print("waiting for readiness", file=out, flush=True)
        _wait_ready(info, target, started, timeout)
        print(f"ready: {target} after {time.monotonic() - started:.1f} s", file=out, flush=True)


def _wait_ready(info: ServiceInfo, target: str, started: float, timeout: float) -> None:
    deadline = started + timeout
    last = "no answer yet"
    while True:
        try:
            status, doc = get_json(info.port, "/readyz")
            if status == 200 and doc.get("ready") is True and doc.get("version") == target:
                return
            last = f"{status} {json.dumps(doc)}"
        except OSError as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            raise ControlError(f"not ready: {target} after {timeout:.1f} s (last /readyz: {last})")
        time.sleep(_READY_POLL_S)


def deploy(
    state_dir: Path, version: str | None, *, dry_run: bool, timeout: float, out: TextIO
) -> None:
    """``demo-ctl deploy VERSION``; raises ControlError on failure."""
    target = _validate_version(version)
    _switch(state_dir, target, rollback=False, dry_run=dry_run, timeout=timeout, out=out)


def rollback(state_dir: Path, *, dry_run: bool, timeout: float, out: TextIO) -> None:
    """``demo-ctl rollback``: switch to the recorded ``previous`` version."""
    previous = state.read_version(state_dir / state.PREVIOUS)
    if previous is None:
        raise ControlError(
            f"no previous version recorded in {state_dir}/previous: nothing to roll back to"
        )
    _switch(state_dir, previous, rollback=True, dry_run=dry_run, timeout=timeout, out=out)
    if dry_run:
        print("rollback path validated", file=out, flush=True)


def status(state_dir: Path, *, out: TextIO) -> int:
    """``demo-ctl status``: print a JSON summary; 0 when the service runs, 1 when not."""
    doc: dict[str, object] = {
        "state_dir": str(state_dir),
        "current": state.read_version(state_dir / state.CURRENT),
        "previous": state.read_version(state_dir / state.PREVIOUS),
        "running": False,
        "pid": None,
        "port": None,
        "ready": False,
        "serving": None,
    }
    code = 1
    try:
        info = find_service(state_dir)
        doc.update(running=True, pid=info.pid, port=info.port)
        _, ready = get_json(info.port, "/readyz")
        doc.update(ready=ready.get("ready") is True, serving=ready.get("serving"))
        code = 0
    except (ControlError, OSError) as exc:
        doc["error"] = str(exc)
    print(json.dumps(doc, indent=2), file=out, flush=True)
    return code


def smoke(state_dir: Path, *, out: TextIO) -> None:
    """``demo-ctl smoke``: ~20 work requests must all succeed; then touch ``smoke-passed``."""
    info = find_service(state_dir)
    try:
        _, ready = get_json(info.port, "/readyz")
    except OSError as exc:
        raise ControlError(f"smoke FAILED: /readyz: {exc}") from None
    if ready.get("ready") is not True:
        raise ControlError(f"smoke FAILED: the service is not ready ({json.dumps(ready)})")
    version = str(ready.get("serving"))
    failures: list[str] = []
    for _ in range(SMOKE_REQUESTS):
        try:
            code, _ = http_get(info.port, "/")
            if code != 200:
                failures.append(str(code))
        except OSError as exc:
            failures.append(type(exc).__name__)
    if failures:
        raise ControlError(
            f"smoke FAILED on {version}: {len(failures)} of {SMOKE_REQUESTS} requests failed "
            f"({', '.join(failures[:5])})"
        )
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    record = {"at": now, "version": version, "requests": SMOKE_REQUESTS}
    state.write_atomic(state_dir / state.SMOKE_FILE, json.dumps(record) + "\n")
    print(f"smoke: {SMOKE_REQUESTS}/{SMOKE_REQUESTS} OK on {version}", file=out, flush=True)


def control_command(args: argparse.Namespace) -> int:
    """``cockpit demo-ctl {deploy,rollback,status,smoke} [VERSION] --state DIR``."""
    state_dir = Path(args.state)
    action: str = args.action
    version: str | None = args.version
    out = sys.stdout
    try:
        timeout = float(args.timeout)
        if not math.isfinite(timeout) or timeout <= 0:
            raise ControlError(
                f"--timeout must be a positive number of seconds, not {args.timeout}", 2
            )
        if action != "deploy" and version is not None:
            raise ControlError(f"{action} takes no VERSION (got {version!r})", 2)
        if action == "deploy":
            deploy(state_dir, version, dry_run=args.dry_run, timeout=timeout, out=out)
        elif action == "rollback":
            rollback(state_dir, dry_run=args.dry_run, timeout=timeout, out=out)
        elif action == "status":
            return status(state_dir, out=out)
        elif action == "smoke":
            smoke(state_dir, out=out)
        else:  # argparse's choices make this unreachable; keep the failure explicit anyway
            raise ControlError(f"unknown action {action!r}", 2)
    except ControlError as exc:
        print(f"demo-ctl {action}: {exc}", file=sys.stderr, flush=True)
        return exc.status
    except OSError as exc:  # e.g. the state directory is not writable
        print(f"demo-ctl {action}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
