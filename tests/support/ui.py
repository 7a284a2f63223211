"""The UI test layers' support: sessions on a fake clock, sample feeding, polling, and the
showcase scenes that the snapshots and ``make screenshots`` render from the real app.

The showcase plays a scripted session through the real :class:`Session` and the real
screen: keys are pressed with the Pilot, samples and checks are fed as the probes would
feed them, and a fake process starter stands in for the runner so that every pid, output
line and time on screen is the same on every run.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Digits, Input, Log

from cockpit.clock import FakeClock
from cockpit.engine import Phase, confirm
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.evidence import write_evidence
from cockpit.runner import ProcessResult, ProcessSpec, ProcessStarter, start_process
from cockpit.sample import Sample, Status
from cockpit.session import Session
from cockpit.ui import render
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.screens.dialogs import ReasonDialog, TypeToConfirmDialog
from cockpit.ui.widgets.metrics import MetricRow, MonitorPane
from cockpit.ui.widgets.text import Label

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ui"
FAST_PROFILE = DATA / "fast.toml"
"""Real, quick commands: the Pilot tests run them."""
SHOWCASE_PROFILE = DATA / "checkout.toml"
"""The snapshots' and screenshots' profile: its commands never run."""
INCIDENT_SHOWCASE_PROFILE = DATA / "checkout-incident.toml"
"""The same, with three metrics read from Prometheus: the incident scenes show their history."""
WALL = 1_800_000_000.0
"""The fake clock's start: 2027-01-15 08:00:00 UTC."""
JOURNAL_SHOWN = "~/.local/state/cockpit/sessions/20270115T080000Z-checkout-0000.jsonl"
"""What the showcase shows instead of the journal path (a tmp path with a random part);
the session folder beside it (evidence, the report) is shown as this without ``.jsonl``."""

Check = Callable[[], bool]


def pin_timezone() -> None:
    """Render wall times in UTC: the clock before T0 shows local time."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def new_session(
    profile: Path,
    workdir: Path,
    clock: FakeClock,
    environ: dict[str, str] | None = None,
    starter: ProcessStarter = start_process,
) -> Session:
    """A session on the fake clock with its journal under ``workdir``."""
    return Session.create(
        profile,
        sessions_dir=workdir / "sessions",
        environ=environ or {},
        clock=clock,
        starter=starter,
        evidence_writer=write_evidence,
    )


async def wait_until(
    pilot: Pilot[None], condition: Check, what: str, timeout: float = 10.0
) -> None:
    """Poll ``condition`` while the app runs; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


async def type_to_confirm(pilot: Pilot[None], answer: str) -> None:
    """Answer the type-to-confirm dialog (opening, or open) key by key, then Enter."""
    app = pilot.app
    await wait_until(
        pilot, lambda: isinstance(app.screen, TypeToConfirmDialog), "the type-to-confirm dialog"
    )
    await pilot.press(*answer, "enter")
    await wait_until(
        pilot, lambda: not isinstance(app.screen, TypeToConfirmDialog), "the dialog to close"
    )
    await pilot.pause()


async def read_back(pilot: Pilot[None], answer: str | None = None) -> None:
    """The Monitor's t: press it and answer the readback question (by default rightly: the
    profile's trigger time, as it writes it)."""
    app = pilot.app
    assert isinstance(app, CockpitApp)
    ask = confirm.readback_ask(app.session.profile)
    await pilot.press("t")
    if ask is not None and not app.session.state.is_incident:
        await type_to_confirm(pilot, ask.answers[0] if answer is None else answer)


def feed(
    session: Session,
    clock: FakeClock,
    values: dict[str, float],
    *,
    count: int = 1,
    every: float = 1.0,
) -> None:
    """Feed ``count`` rounds of samples as the probes would, one round per ``every`` seconds.

    A value inside its metric's threshold is a PASS, outside it a FAIL.
    """
    for _ in range(count):
        clock.advance(every)
        for metric_id, value in values.items():
            metric = session.profile.metric(metric_id)
            status = Status.PASS if metric.threshold.passes(value) else Status.FAIL
            detail = f"{value:g} {metric.unit}".strip()
            session.on_sample(Sample(metric_id, status, value, metric.unit, clock.wall(), detail))


def record_check(session: Session, clock: FakeClock, check_id: str, ok: bool, detail: str) -> None:
    """Record a readiness check result as the checklist loop would."""
    status = Status.PASS if ok else Status.FAIL
    sample = Sample(check_id, status, None, "", clock.wall(), detail)
    session.submit(i.RecordCheck(SYSTEM, clock.wall(), sample))


def text_of(app: CockpitApp, selector: str) -> str:
    """The plain text a Label of the cockpit screen shows (or the Labels in a container)."""
    node = app.screen.query_one(selector)
    if isinstance(node, Label):
        return _plain(node)
    return "\n".join(_plain(label) for label in node.query(Label))


def _plain(label: Label) -> str:
    if isinstance(
        label.content, render.Hanging | render.KeyRow | render.Paths
    ):  # laid out when drawn
        return str(label.content)
    return str(label.render())


def clock_shown(app: CockpitApp) -> bool:
    """Whether the once-a-second refresh has caught up with the state and the fake clock.

    Samples alone do not redraw the screen (the metric rows and the timer follow a 1 s
    timer), so a test that fed samples waits for this before it reads the screen.
    """
    session, now = app.session, app.clock.wall()
    pane = app.screen.query_one(MonitorPane)
    width = pane.content_region.width or 60
    assert session.state.profile is not None
    for row in pane.query(MetricRow):
        if not row.display:
            continue  # a row the pane has no room for is not redrawn
        metric = session.state.profile.metric(row.metric_id)
        if str(row.render()) != render.metric_row(metric, session.state, now, width).plain:
            return False
    return app.screen.query_one("#timer", Digits).value == render.clock_text(session.state, now)


def output_lines(app: CockpitApp) -> list[str]:
    """The lines of the process output log."""
    return list(app.screen.query_one("#output", Log).lines)


# ---------------------------------------------------------------- fake processes


class FakeHandle:
    """What :func:`cockpit.runner.start_process` returns, for a process that never runs."""

    def __init__(self, pid: int, started_wall: float) -> None:
        self.pid = pid
        self.pgid = pid
        self.supervisor_pid = pid - 1
        self.started_wall = started_wall
        self.result: asyncio.Future[ProcessResult] = asyncio.get_running_loop().create_future()

    async def wait(self, *, terminate_on_cancel: bool = True) -> ProcessResult:
        """Until the scene ends the process."""
        return await self.result


@dataclass
class FakeProcesses:
    """A stand-in for the runner: fixed pids, scripted output, exits when told."""

    output: dict[str, list[str]]
    """Lines each process 'prints', by output file name (step-1-canary.out ...)."""
    started: dict[str, FakeHandle] = field(default_factory=dict)
    next_pid: int = 48213

    async def start_process(self, spec: ProcessSpec, *, standby: object = None) -> FakeHandle:
        """Write the scripted output and hand back a handle with a fixed pid."""
        lines = self.output.get(spec.output_path.name, [])
        spec.output_path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        handle = FakeHandle(self.next_pid, WALL)
        self.next_pid += 164
        self.started[spec.output_path.name] = handle
        return handle

    def exit(self, name: str, code: int = 0, duration: float = 20.0) -> None:
        """End the process whose output file is ``name``."""
        result = ProcessResult(code, None, False, duration, None if code == 0 else "failed")
        self.started[name].result.set_result(result)

    def abandon(self) -> None:
        """Stop waiting for the processes still 'running' (when the scene is over)."""
        for handle in self.started.values():
            handle.result.cancel()


# ---------------------------------------------------------------- the showcase

HEALTHY = {"error-rate": 0.2, "p99": 182.0, "ready": 41.0, "throughput": 118.0}
BAD = {"error-rate": 4.6, "p99": 512.0, "ready": 47.0, "throughput": 104.0}
STILL_BAD = {"error-rate": 1.9, "p99": 455.0, "ready": 44.0, "throughput": 109.0}

CANARY_OUT = [
    "rollout checkout v2.4.0 weight=10",
    "  replicaset checkout-v2-4-0 scaled to 2/2",
    "  waiting for readiness: 2/2 ready",
    "  traffic split: v2.3.7 90% · v2.4.0 10%",
]
PROMOTE_OUT = [
    "rollout checkout v2.4.0 weight=100",
    "  replicaset checkout-v2-4-0 scaled to 12/12",
    "  traffic split: v2.4.0 100%",
    "  replicaset checkout-v2-3-7 scaled to 0",
]
ROLLBACK_OUT = [
    "rollback checkout to v2.3.7",
    "  traffic split: v2.3.7 100%",
    "  replicaset checkout-v2-4-0 scaled to 0",
    "  v2.3.7 serving",
]

SCENES = (
    "briefing",
    "checklist-red",
    "executing",
    "stop-point-red",
    "rolling-back",
    "rolled-back",
    "not-verified",
    "hold",
    "complete",
)
"""Every phase the snapshots and screenshots show, in procedure order."""


class Showcase:
    """One scripted session of the checkout profile, played on the real app up to a scene."""

    def __init__(self, workdir: Path, profile: Path = SHOWCASE_PROFILE) -> None:
        self.clock = FakeClock(WALL)
        self.processes = FakeProcesses(
            {
                "step-1-canary.out": CANARY_OUT,
                "step-2-promote.out": PROMOTE_OUT,
                "rollback-1.out": ROLLBACK_OUT,
            }
        )
        self.session = new_session(
            profile, workdir, self.clock, starter=self.processes.start_process
        )
        self.app = make_app(self.session, clock=self.clock, run_loops=False)

    def player(self, scene: str) -> Callable[[Pilot[None]], Awaitable[None]]:
        """A ``run_before`` for ``snap_compare``: play up to ``scene``."""
        if scene not in SCENES:
            raise ValueError(f"unknown scene {scene!r}; one of {', '.join(SCENES)}")

        async def play(pilot: Pilot[None]) -> None:
            await _SCRIPTS[scene](self, pilot)
            await pilot.pause()  # session changes reach the screen as messages
            await wait_until(pilot, self._output_shown, "the process output on screen")
            await wait_until(pilot, self._evidence_done, "the evidence of a finished session")
            # The log does not follow its end when the banner shrinks the pane after the
            # last write; which of the two happened last varies from run to run.
            self.app.screen.query_one("#output", Log).scroll_end(animate=False, immediate=True)
            await wait_until(pilot, lambda: clock_shown(self.app), "the 1 s refresh")
            self._mask_journal_path()
            # Nothing more happens in a scene: close the journal and let go of any process
            # the session keeps standing by (the screen stays as it is).
            await self.session.close()

        return play

    # ------------------------------------------------------------ helpers

    def feed(self, values: dict[str, float], count: int = 1) -> None:
        feed(self.session, self.clock, values, count=count)

    def _output_shown(self) -> bool:
        want = 0
        for name, handle in self.processes.started.items():
            del handle
            want += 1 + len(self.processes.output.get(name, []))
        return want == 0 or len(output_lines(self.app)) >= want

    def _evidence_done(self) -> bool:
        session = self.session
        if not session.state.phase.finished:
            return True
        return bool(session.evidence) or session.evidence_error is not None

    def _mask_journal_path(self) -> None:
        notice = self.app.screen.query_one("#notice", Label)
        if not isinstance(notice.content, render.Paths):
            return
        journal, folder = str(self.session.journal_path), str(self.session.session_dir)
        entries = [
            (label, path.replace(journal, JOURNAL_SHOWN).replace(folder, JOURNAL_SHOWN[:-6]))
            for label, path in notice.content.entries
        ]
        notice.show(render.Paths(entries))

    async def press(self, pilot: Pilot[None], *keys: str) -> None:
        await pilot.press(*keys)

    # ------------------------------------------------------------ the script

    async def briefing(self, pilot: Pilot[None]) -> None:
        history = [
            {
                "error-rate": 0.1 + 0.05 * (n % 4),
                "p99": 170.0 + 3 * (n % 7),
                "ready": 40.0,
                "throughput": 112.0 + (n % 5),
            }
            for n in range(40)
        ]
        for values in history:
            self.feed(values)

    async def checklist_red(self, pilot: Pilot[None]) -> None:
        await self.briefing(pilot)
        await read_back(pilot)
        self.clock.advance(4)
        self._checks(smoke_ok=False)
        await self.press(pilot, "c")
        self.feed(HEALTHY, count=2)
        await self.press(pilot, "g")  # refused: the smoke tests are RED

    def _checks(self, *, smoke_ok: bool) -> None:
        s, c = self.session, self.clock
        record_check(s, c, "rollback-dry-run", True, "exit 0 in 0.4s")
        record_check(s, c, "cpu", True, "23% (21–26%, stable within 15)")
        record_check(s, c, "monitoring-live", True, "HTTP 200 in 12 ms; window.rps = 118")
        if smoke_ok:
            record_check(s, c, "smoke-today", True, "written 2027-01-15 07:41, 19m ago")
        else:
            record_check(
                s, c, "smoke-today", False, "written 2027-01-13 16:05, not today (2027-01-15)"
            )
        record_check(s, c, "artifact", True, "v2.4.0 is the approved tag")

    async def executing(self, pilot: Pilot[None]) -> None:
        await self.checklist_red(pilot)
        self._checks(smoke_ok=True)
        self.feed(HEALTHY, count=2)
        await self.press(pilot, "g", "m")
        self.feed(HEALTHY, count=8)
        await self.press(pilot, "v", "x")
        self.feed(HEALTHY, count=6)

    async def _canary_done(self, pilot: Pilot[None]) -> None:
        await self.executing(pilot)
        self.processes.exit("step-1-canary.out", duration=6.2)
        await wait_until(pilot, lambda: self.session.state.window is not None, "the stop point")

    async def stop_point_red(self, pilot: Pilot[None]) -> None:
        await self._canary_done(pilot)
        self.feed(HEALTHY, count=2)
        self.feed(BAD, count=2)
        await wait_until(pilot, lambda: self.session.state.advisory is not None, "the advice")
        self.feed(BAD, count=3)

    async def rolling_back(self, pilot: Pilot[None]) -> None:
        await self.stop_point_red(pilot)
        await self.press(pilot, "R")
        await wait_until(pilot, self._snapshot_taken, "the rollback snapshot")
        self.feed(BAD, count=3)

    def _snapshot_taken(self) -> bool:
        rollback = self.session.state.rollback
        return rollback is not None and rollback.snapshot is not None

    async def _rollback_done(self, pilot: Pilot[None]) -> None:
        await self.rolling_back(pilot)
        self.processes.exit("rollback-1.out", duration=9.5)
        await wait_until(
            pilot, lambda: self.session.state.phase is Phase.VERIFYING, "the verification"
        )

    async def rolled_back(self, pilot: Pilot[None]) -> None:
        await self._rollback_done(pilot)
        self.feed(HEALTHY, count=4)
        await wait_until(pilot, lambda: self.session.state.phase.finished, "the verdict")

    async def not_verified(self, pilot: Pilot[None]) -> None:
        await self._rollback_done(pilot)
        self.feed(STILL_BAD, count=10)
        self.clock.advance(40)
        self.session.tick()
        await wait_until(pilot, lambda: self.session.state.phase.finished, "the verdict")

    async def _canary_green(self, pilot: Pilot[None]) -> None:
        await self._canary_done(pilot)
        self.feed(HEALTHY, count=3)
        await wait_until(
            pilot, lambda: self.session.state.steps[0].stop_point_passed, "a GREEN stop point"
        )

    async def hold(self, pilot: Pilot[None]) -> None:
        await self._canary_green(pilot)
        await self.press(pilot, "h")
        await wait_until(pilot, lambda: isinstance(self.app.screen, ReasonDialog), "the dialog")
        # The Pilot tests type a reason key by key; here the text is set to keep this quick.
        self.app.screen.query_one(Input).value = "payments-api degraded"
        await pilot.press("enter")
        await wait_until(pilot, lambda: self.session.state.hold is not None, "the HOLD")
        self.clock.advance(17)

    async def complete(self, pilot: Pilot[None]) -> None:
        await self._canary_green(pilot)
        await self.press(pilot, "v", "x")
        self.feed(HEALTHY, count=5)
        self.processes.exit("step-2-promote.out", duration=4.8)
        await wait_until(pilot, lambda: self.session.state.window is not None, "the stop point")
        self.feed(HEALTHY, count=3)
        await wait_until(pilot, lambda: self.session.state.phase is Phase.HEALTH, "health")
        self.feed(HEALTHY, count=61)
        self.session.tick()
        await wait_until(pilot, lambda: self.session.state.phase.finished, "the end")


INCIDENT_SCENES = ("incident", "incident-mitigated")
"""The incident scenes: declared with the history and the baseline read; then R, verified
against the baseline from before the incident, stable, mitigated."""
RED_SINCE = 440.0
"""Seconds before T0 at which the scene's history goes RED (T-07:20)."""


def incident_history(metric_id: str, quiet: float, bad: float, red_since: float) -> i.RecordHistory:
    """15 minutes of history every 3 s, quiet with a small wobble, then bad from ``red_since``
    seconds before T0 (what the history loop records for a Prometheus metric)."""
    points = tuple(
        (
            WALL - 900 + 3 * n,
            (bad if WALL - 900 + 3 * n >= WALL - red_since else quiet) * (1 + 0.04 * (n % 5 - 2)),
        )
        for n in range(300)
    )
    return i.RecordHistory(SYSTEM, WALL, metric_id, WALL - 900, WALL, 3.0, points)


class IncidentShowcase(Showcase):
    """An incident of the checkout profile, declared at T0, played on the real app."""

    def __init__(self, workdir: Path) -> None:
        self.clock = FakeClock(WALL)
        self.processes = FakeProcesses({"rollback-1.out": ROLLBACK_OUT})
        self.session = Session.create(
            INCIDENT_SHOWCASE_PROFILE,
            sessions_dir=workdir / "sessions",
            environ={},
            clock=self.clock,
            starter=self.processes.start_process,
            evidence_writer=write_evidence,
            kind="incident",
        )
        self.app = make_app(self.session, clock=self.clock, run_loops=False)

    def player(self, scene: str) -> Callable[[Pilot[None]], Awaitable[None]]:
        """A ``run_before`` for ``snap_compare``: play up to an incident ``scene``."""
        if scene not in INCIDENT_SCENES:
            raise ValueError(f"unknown scene {scene!r}; one of {', '.join(INCIDENT_SCENES)}")
        script = self.incident if scene == "incident" else self.incident_mitigated

        async def play(pilot: Pilot[None]) -> None:
            await script(pilot)
            await pilot.pause()
            await wait_until(pilot, self._output_shown, "the process output on screen")
            await wait_until(pilot, self._evidence_done, "the evidence of a finished session")
            self.app.screen.query_one("#output", Log).scroll_end(animate=False, immediate=True)
            await wait_until(pilot, lambda: clock_shown(self.app), "the 1 s refresh")
            self._mask_journal_path()
            await self.session.close()

        return play

    async def incident(self, pilot: Pilot[None]) -> None:
        """A few seconds after the declaration: history read, baseline taken, RED now."""
        s = self.session
        s.submit(incident_history("error-rate", 0.2, 4.6, RED_SINCE))
        s.submit(incident_history("p99", 182.0, 512.0, RED_SINCE - 12))
        s.submit(incident_history("throughput", 118.0, 104.0, RED_SINCE))
        s.submit(
            i.RecordHistory(
                SYSTEM, WALL, "ready", WALL - 900, WALL, 3.0, (), "no history (http source)"
            )
        )
        s.submit(i.TakeBaseline(SYSTEM, WALL))
        self.clock.advance(2)
        record_check(s, self.clock, "rollback-dry-run", True, "exit 0 in 0.4s")
        self.feed(BAD, count=4)

    async def incident_mitigated(self, pilot: Pilot[None]) -> None:
        """R in the first seconds, before the Monitor's readback; verified; stable."""
        await self.incident(pilot)
        await self.press(pilot, "R")
        await wait_until(pilot, self._snapshot_taken, "the rollback snapshot")
        self.feed(BAD, count=2)
        self.processes.exit("rollback-1.out", duration=9.5)
        await wait_until(
            pilot, lambda: self.session.state.phase is Phase.VERIFYING, "the verification"
        )
        self.feed(HEALTHY, count=4)
        await wait_until(
            pilot, lambda: self.session.state.phase is Phase.STABILIZING, "the stabilization"
        )
        self.feed(HEALTHY, count=61)
        self.session.tick()
        await wait_until(pilot, lambda: self.session.state.phase.finished, "the mitigation")


_SCRIPTS: dict[str, Callable[[Showcase, Pilot[None]], Awaitable[None]]] = {
    "briefing": Showcase.briefing,
    "checklist-red": Showcase.checklist_red,
    "executing": Showcase.executing,
    "stop-point-red": Showcase.stop_point_red,
    "rolling-back": Showcase.rolling_back,
    "rolled-back": Showcase.rolled_back,
    "not-verified": Showcase.not_verified,
    "hold": Showcase.hold,
    "complete": Showcase.complete,
}
