"""Status announcements: which events are announced and how; the webhook against real servers."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cockpit.announce import ANNOUNCED_KINDS, Webhook, announcement, state_before
from cockpit.engine import Event, State, apply, decide, events_from_records
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.journal import Actor, read_journal
from cockpit.sample import Sample, Status
from tests.unit.test_engine import two_step_data
from tests.unit.test_evidence import MONITOR, OPERATOR, complete_session, rolled_back_session

# ---------------------------------------------------------------- announcement()


def announced(events: list[Event]) -> list[tuple[str, str | None]]:
    """Fold the events, announcing each against the state before and after it.

    Each line is computed twice, with a deep copy of the state before and with the cheap
    ``state_before`` copy the session uses; they must agree.
    """
    state = State()
    out = []
    for event in events:
        deep = copy.deepcopy(state)
        cheap = state_before(state)
        apply(state, event)
        text = announcement(event, deep, state)
        assert announcement(event, cheap, state) == text, event.kind
        assert text is None or event.kind in ANNOUNCED_KINDS
        out.append((event.kind, text))
    return out


@pytest.fixture(scope="module")
def session_lines(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str | None]]:
    path = tmp_path_factory.mktemp("announce") / "s.jsonl"
    rolled_back_session(path)
    return announced(events_from_records(read_journal(path)))


@pytest.mark.parametrize(
    ("kind", "fragments"),
    [
        ("session.started", ["BRIEFING: demo-web v2", "Operator ada, Monitor grace"]),
        ("readback.confirmed", ["read back by grace (Monitor)"]),
        ("go", ["GO from ada (Operator)"]),
        ("nogo", ["NO-GO from grace (Monitor): dashboard lagging", "HOLD"]),
        ("resume", ["RESUMED by grace (Monitor) after 00:01", "dashboard lagging"]),
        ("execution.started", ["EXECUTION STARTED", "T0"]),
        ("step.starting", ["STARTED step 1/1 deploy-v2 (Switch demo-web to v2"]),
        ("step.finished", ["Finished step 1/1 deploy-v2", "OK"]),
        ("rollback.advised", ["ROLLBACK ADVISED: stop point of deploy-v2 FAILED"]),
        ("hold", ["HOLD by ada (Operator): checking the dashboards"]),
        ("rollback.started", ["ROLLING BACK NOW (by grace (Monitor)): error rate RED"]),
        ("rollback.verifying", ["verifying against the GO baseline"]),
        ("rollback.verified", ["ROLLED BACK — VERIFIED"]),
    ],
)
def test_announced_events(
    session_lines: list[tuple[str, str | None]], kind: str, fragments: list[str]
) -> None:
    lines = [text for k, text in session_lines if k == kind and text is not None]
    assert lines, f"{kind} was not announced"
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, lines)


def test_quiet_events(session_lines: list[tuple[str, str | None]]) -> None:
    for kind in ("sample", "process.started", "rollback.snapshot", "step.verified"):
        texts = [text for k, text in session_lines if k == kind]
        assert texts, kind
        assert texts == [None] * len(texts), kind
    # The checklist re-runs: only changes are announced, and the moment all turn GREEN.
    checks = [text for k, text in session_lines if k in ("check.result", "check.confirmed")]
    assert [t for t in checks if t] == [
        "Readiness check RED: CPU below 60% and stable: FAIL: 91% > 60%",
        "Readiness check GREEN again: CPU below 60% and stable",
        "Readiness: every check GREEN — ready for the GO call",
    ]
    assert all("\n" not in text for _, text in session_lines if text)


def test_complete_session_announces_health_and_completion(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    complete_session(path)
    lines = dict(announced(events_from_records(read_journal(path))))
    assert (
        lines["stop_point.passed"]
        == "Stop point GREEN after step 1/1 deploy-v2 (Switch demo-web to v2 and wait for"
        " readiness) (GREEN)"
    )
    assert lines["health.started"] == "All steps done — HEALTH WINDOW started (30s)"
    assert lines["session.complete"] == "COMPLETE: demo-web v2 — health window GREEN to the end"


@dataclass
class Sim:
    """A session driven by intents, announcing every event."""

    state: State = field(default_factory=State)
    lines: list[str | None] = field(default_factory=list)

    def do(self, intent: i.Intent) -> None:
        for event in decide(self.state, intent):
            before = copy.deepcopy(self.state)
            apply(self.state, event)
            self.lines.append(announcement(event, before, self.state))

    def second(self, t: float, status: Status = Status.PASS) -> None:
        assert self.state.profile is not None
        for metric in self.state.profile.metrics:
            self.do(i.RecordSample(SYSTEM, t, Sample(metric.id, status, 1.0, "", t, "x")))


def test_approval_request_automatic_rollback_and_failed_rollback() -> None:
    profile = two_step_data()
    profile["rollback"]["on_failed_stop_point"] = "automatic"
    sim = Sim()
    sim.do(i.StartSession(OPERATOR, 0.0, profile, "0", "p", "ada", "grace"))
    sim.do(i.ConfirmReadback(MONITOR, 1.0, typed="5m"))
    assert sim.state.profile is not None
    for check in sim.state.profile.checks:
        if check.manual is None:
            sim.do(i.RecordCheck(SYSTEM, 2.0, Sample(check.id, Status.PASS, 1.0, "", 2.0, "ok")))
        else:
            sim.do(i.ConfirmManualCheck(OPERATOR, 2.0, check.id))
    sim.second(3.0)
    sim.do(i.Go(OPERATOR, 3.0))
    sim.do(i.Go(MONITOR, 3.0))
    sim.do(i.VerifyStep(MONITOR, 4.0, "deploy-v2"))
    sim.do(i.RunStep(OPERATOR, 4.0, "deploy-v2"))
    sim.do(i.ProcessExited(SYSTEM, 5.0, "step", "deploy-v2", 0))
    for t in (6.0, 7.0, 8.0):
        sim.second(t)
    passed = [line for line in sim.lines if line and line.startswith("Stop point GREEN")]
    assert passed == [
        "Stop point GREEN after step 1/2 deploy-v2 (Switch demo-web to v2 and wait for"
        " readiness) (GREEN) — APPROVAL NEEDED: step 2/2 announce (Announce) waits for the"
        " approver"
    ]
    sim.do(i.ApproveStep(Actor("approver", "carol", None), 9.0, "announce", typed="production"))
    assert sim.lines[-1] == "Approved: step 2/2 announce (Announce) by carol (Approver)"
    sim.do(i.AcknowledgeIrreversible(OPERATOR, 9.0, "announce", typed="production"))
    assert (sim.lines[-1] or "").startswith("POINT OF NO RETURN acknowledged by ada (Operator)")
    sim.do(i.VerifyStep(MONITOR, 9.0, "announce"))
    sim.do(i.RunStep(OPERATOR, 9.0, "announce"))
    sim.do(i.ProcessExited(SYSTEM, 10.0, "step", "announce", 0))
    for t in (11.0, 12.0, 13.0):
        sim.second(t, Status.FAIL)
    rolling = [line for line in sim.lines if line and line.startswith("ROLLING BACK NOW")]
    assert len(rolling) == 1
    assert rolling[0].startswith("ROLLING BACK NOW (automatic): stop point of announce FAILED")
    sim.do(i.ProcessExited(SYSTEM, 15.0, "rollback", "0", 2))
    assert sim.lines[-2:] == [
        "Rollback command 1 FAILED: exit status 2",
        "ROLLED BACK — NOT VERIFIED: rollback command 1 failed: exit status 2",
    ]


# ---------------------------------------------------------------- the webhook, against real servers


@dataclass
class HookServer:
    """A tiny HTTP server on 127.0.0.1 that records JSON bodies and answers as told."""

    answer: str  # "ok", "error" or "hang"
    bodies: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            self.bodies.append(json.loads(await reader.readexactly(length)))
            if self.answer == "hang":
                await self.release.wait()  # never answers while the test runs
                return
            status = b"204 No Content" if self.answer == "ok" else b"500 Internal Server Error"
            writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    def url(self, path: str = "/hooks/T0KEN-abc123") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


Serve = Callable[[str], Awaitable[HookServer]]


@pytest.fixture
async def serve(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Serve]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    servers: list[tuple[HookServer, asyncio.Server]] = []

    async def start(answer: str) -> HookServer:
        hook = HookServer(answer)
        server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
        hook.port = server.sockets[0].getsockname()[1]
        servers.append((hook, server))
        return hook

    yield start
    for hook, server in servers:
        hook.release.set()
        server.close()
        await server.wait_closed()


async def test_webhook_posts_the_fields_and_redacts_secrets(serve: Serve) -> None:
    hook = await serve("ok")
    webhook = Webhook(hook.url(), secrets=["s3cret-value"], timeout=5.0)
    error = await webhook.post(
        "ROLLING BACK NOW (by grace): token s3cret-value leaked",
        kind="rollback.started",
        deployment="demo-web v2",
        t_plus=30.5,
    )
    assert error is None
    assert hook.bodies == [
        {
            "text": "ROLLING BACK NOW (by grace): token [REDACTED] leaked",
            "kind": "rollback.started",
            "deployment": "demo-web v2",
            "t_plus": 30.5,
        }
    ]
    assert "T0KEN" not in repr(webhook)


async def test_webhook_http_error_is_a_line_without_the_url(serve: Serve) -> None:
    hook = await serve("error")
    error = await Webhook(hook.url(), secrets=[]).post("x", kind="k", deployment="d", t_plus=None)
    assert error == "webhook: answered HTTP 500"


async def test_hanging_webhook_respects_the_deadline(serve: Serve) -> None:
    hook = await serve("hang")
    webhook = Webhook(hook.url(), secrets=[], timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await webhook.post("HOLD", kind="hold", deployment="d", t_plus=1.0)
    elapsed = loop.time() - started
    assert error == "webhook: no answer within 0.3s"
    assert 0.25 <= elapsed < 1.5, elapsed
    assert len(hook.bodies) == 1  # the request arrived; the answer never did


async def test_refused_connection_is_an_error_string_not_an_exception() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/T0KEN-abc123"
    error = await Webhook(url, secrets=[]).post("x", kind="k", deployment="d", t_plus=None)
    assert error is not None
    assert error.startswith("webhook: ")
    assert "\n" not in error
    assert "T0KEN" not in error and url not in error
    bad = await Webhook("not a url T0KEN-abc123", secrets=[]).post(
        "x", kind="k", deployment="d", t_plus=None
    )
    assert bad is not None and "T0KEN" not in bad


async def test_send_returns_at_once_keeps_order_and_reports_failures(serve: Serve) -> None:
    slow = await serve("hang")
    errors: list[str] = []
    webhook = Webhook(slow.url(), secrets=[], timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = webhook.send("one", kind="k", deployment="d", t_plus=None, on_error=errors.append)
    second = webhook.send("two", kind="k", deployment="d", t_plus=None, on_error=errors.append)
    assert loop.time() - started < 0.05  # the caller is never delayed
    assert not first.done()
    await webhook.drain(timeout=5)
    assert second.done()
    assert [b["text"] for b in slow.bodies] == ["one", "two"]  # in order, one after the other
    assert errors == ["webhook: no answer within 0.3s"] * 2

    fast = await serve("ok")
    webhook = Webhook(fast.url(), secrets=[])
    for n in range(5):
        webhook.send(f"line {n}", kind="k", deployment="d", t_plus=float(n))
    await webhook.drain(timeout=5)
    assert [b["text"] for b in fast.bodies] == [f"line {n}" for n in range(5)]
