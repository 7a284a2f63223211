"""The cockpit screen: renders the session and turns each key into an intent."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen

from cockpit.clock import Clock
from cockpit.engine import Event, Phase, Refusal, State, confirm, decide
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.guide import KEYS, Next, keys_for, manual_pending, next_action
from cockpit.heap import release_free_memory
from cockpit.journal import Actor
from cockpit.profile import Profile
from cockpit.runner import OutputSource
from cockpit.session import Session
from cockpit.session.loops import Preload
from cockpit.session.loops import preload as preload_loops
from cockpit.ui import MIN_HEIGHT, MIN_WIDTH, render
from cockpit.ui.screens.dialogs import ConfirmDialog, ReasonDialog, TypeToConfirmDialog
from cockpit.ui.widgets.metrics import MonitorPane
from cockpit.ui.widgets.procedure import OperatorPane
from cockpit.ui.widgets.text import Label
from cockpit.ui.widgets.topbar import TopBar, deployment_text

NARROW = 220
"""Below this width the panes stack, each the full width: side by side, the Monitor's metric
rows would have under 120 columns (sparklines of under 60 samples, titles cut) and the
Operator's commands would be cut."""
SHORT = 30
"""Below this height the Monitor's verdict takes one line, not one per metric."""
OUTPUT_POLL = 0.1
"""Seconds between reads of the running process's output file."""
CATCH_UP_KEEP = 256 * 1024
"""When further behind than this, the output pane skips ahead to the newest bytes."""
TICK_AFTER = 0.002
"""The tick lands this long after the timer's next whole second (see _schedule_tick)."""
TRIM_AFTER_START = 3.0
"""Seconds after the loops start (their modules imported, the first probes and checks run)
until the memory start-up freed is given back (see cockpit.heap)."""
TRIM_AFTER_LINES = 20_000
"""Output lines shown since the memory was last given back, after which a quiet moment of the
output (a pump that finds nothing new) gives it back again: a flood's buffers are freed."""


def _preload_loops(profile: Profile) -> None:
    preload_loops(profile)  # looked up when called: a test may replace it


class Body(Horizontal):
    """The Operator's and the Monitor's panes. When it changes size (a banner, a notice or
    the report's path came or went) the Monitor pane fits its rows and verdict again: its room
    is a share of this height, and a fit made before the change would stay wrong."""

    def on_resize(self) -> None:
        self.query_one(MonitorPane).refit()


class CockpitScreen(Screen[None]):
    """Everything on one screen; keys are the same in every phase."""

    class SessionChanged(Message):
        """The session recorded events (decisions, not samples): redraw what they touch.

        The events wait in the screen's pending list; one message redraws for all of them, so
        a burst (eight check results arriving together) costs one redraw, not eight.
        """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("R", "rollback", "ROLL BACK NOW", priority=True),
        Binding("h", "hold", "hold"),
        Binding("u", "resume", "resume"),
        Binding("n", "nogo", "NO-GO"),
        Binding("e", "rerun_checks", "re-run checks"),
        Binding("A", "abort", "abort"),
        Binding("q", "quit", "quit"),
        Binding("t", "readback", "Monitor: read back"),
        Binding("m", "go('monitor')", "Monitor GO"),
        Binding("v", "verify", "Monitor: verify"),
        Binding("k", "confirm('monitor')", "Monitor: confirm check"),
        Binding("y", "accept", "Monitor: accept inconclusive"),
        Binding("g", "go('operator')", "Operator GO"),
        Binding("c", "confirm('operator')", "Operator: confirm check"),
        Binding("x", "run_step", "Operator: run step"),
        Binding("i", "acknowledge", "Operator: acknowledge"),
        Binding("p", "approve", "approve"),
    ]

    def __init__(self, session: Session, clock: Clock, *, run_loops: bool = True) -> None:
        super().__init__()
        self.session = session
        self.clock = clock
        self.run_loops = run_loops
        self._tail: OutputSource | None = None
        self._tail_path: Path | None = None
        self._pending_events: list[Event] = []
        self._redraw_pending = False
        self._loops_started = False
        self._preload: Preload | None = None
        self._lines_since_trim = 0
        self._fitted: tuple[int, int] | None = None
        """The terminal size the layout's classes were last set for (see _fit)."""
        self._deployment = deployment_text(session.resolved)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A terminal that only watches has one key: q."""
        return action == "quit" or not self.session.read_only

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        profile = self.session.profile
        # The size classes go on before the panes are styled: added in on_mount (as _fit does
        # on a resize) they restyled every widget once more before the first frame.
        self._size_classes(self.app.size.width, self.app.size.height, update=False)
        yield TopBar(production=profile.is_production(), id="topbar")
        yield Label(id="banner")
        with Body(id="body"):
            yield OperatorPane(len(profile.checks), id="operator")
            yield MonitorPane([m.id for m in profile.metrics])
        yield Label(id="too-small")
        yield Label(id="next")
        yield Label(id="notice", classes="-empty")
        yield Label(id="keys")

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        self.session.listeners.append(self._on_events)
        self._schedule_tick()
        self._output_timer = self.set_interval(OUTPUT_POLL, self._pump_output, pause=True)
        self._follow_latest()
        self._show_all()
        # What the journal recorded is reconciled with what runs at once, before the first
        # frame: a rollback recorded by a cockpit that died before starting it starts now.
        self.run_worker(self.session.reattach_processes(), group="reattach", exit_on_error=False)
        # The loops wait for the first frame on the terminal (importing the probes, starting
        # the check processes): the app starts them when it is ready (CockpitApp.on_ready), or
        # now for a screen mounted later.
        if getattr(self.app, "ready", True):
            self.call_after_refresh(self.start_loops)
        elif self.run_loops:  # its thread starts now, before the first frame (see Preload)
            self._preload = Preload(partial(_preload_loops, self.session.profile))

    def start_clock(self) -> None:
        """Show the time: from the frame after the first one on (see TopBar)."""
        topbar = self.query_one(TopBar)
        if not topbar.clock_started:
            topbar.start_clock(self.session.state, self.clock.wall())

    def start_loops(self) -> None:
        """Start the probes, the checklist and the engine's clock, once."""
        if self._loops_started:
            return
        self._loops_started = True
        self.start_clock()
        if self.run_loops:  # the rollback's supervisor is warm already (CockpitApp.on_ready)
            self.run_worker(self._run_loops(), group="loops", exit_on_error=False)

    async def _run_loops(self) -> None:
        # The probes' modules (and httpx when a source needs it: about 0.04 s) are imported
        # on a thread, so that an R pressed on the first frame is handled at once, not after
        # the imports.
        preload = self._preload or Preload(partial(_preload_loops, self.session.profile))
        self._preload = preload
        preload.release()
        await preload.done
        self.set_timer(TRIM_AFTER_START, release_free_memory)
        self.run_worker(self.session.run_history(), group="history", exit_on_error=False)
        self.run_worker(self.session.run_probes(), group="probes", exit_on_error=False)
        self.run_worker(self.session.run_checklist(), group="checks", exit_on_error=False)
        self.run_worker(self.session.run_clock(), group="clock", exit_on_error=False)

    def _follow_latest(self) -> None:
        """After a resume, show the output of the last process started (maybe still running)."""
        event = self.session.last_process_started
        if event is not None:
            self._follow(Path(str(event.body["output"])), event)

    def on_unmount(self) -> None:
        if self._preload is not None:
            self._preload.cancel()  # a no-op once released
        if self._on_events in self.session.listeners:
            self.session.listeners.remove(self._on_events)

    def on_resize(self, event: Resize) -> None:
        size = (event.size.width, event.size.height)
        if size == self._fitted:
            return  # the first layout's resize: on_mount fitted and drew this size already
        self._fit(*size)
        if self.is_mounted:
            self._show_all()

    def _fit(self, width: int, height: int) -> None:
        """The layout's classes for a terminal of this size: set once before the first frame
        (from the app's size: the classes in ``compose``, the rest in ``on_mount``) and again
        on every resize. Set only on a resize,
        the first frame was laid out for no size class and laid out again right after it, and
        an R pressed on that first frame waited for the second layout."""
        self._fitted = (width, height)
        tiny = self._size_classes(width, height)
        # R first: on the smallest screen the one thing that must survive the cut is that R
        # still rolls back.
        self.query_one("#too-small", Label).show(
            f"R still rolls back. The terminal is {width}x{height}; the cockpit needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT}: enlarge it."
            if tiny
            else ""
        )
        self.query_one(MonitorPane).detailed = height >= SHORT

    def _size_classes(self, width: int, height: int, *, update: bool = True) -> bool:
        """Set the layout's size classes; returns whether the terminal is too small."""
        tiny = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(tiny, "-tiny", update=update)
        self.set_class(width < NARROW, "-narrow", update=update)
        self.set_class(height < SHORT, "-short", update=update)
        return tiny

    # ------------------------------------------------------------ rendering

    def _on_events(self, events: list[Event]) -> None:
        """Session listener: called inside the session's submit; hand over as a message."""
        if events and all(e.kind == Kind.SAMPLE for e in events):
            return  # rows redraw on the clock tick; decisions arrive as their own events
        first = not self._pending_events and not self._redraw_pending
        self._pending_events.extend(events)
        self._redraw_pending = True
        if first:
            self.post_message(self.SessionChanged())

    @on(SessionChanged)
    def _session_changed(self) -> None:
        events, self._pending_events = self._pending_events, []
        self._redraw_pending = False
        for event in events:
            if event.kind == Kind.PROCESS_STARTED:
                self._follow(Path(str(event.body["output"])), event)
        self._show_all()

    def _show_panes(self, state: State, now: float, nxt: Next) -> None:
        profile = self.session.profile
        self.query_one(OperatorPane).show(state, now, profile, your_turn=nxt.role == "operator")
        self.query_one(MonitorPane).show(state, now, profile, your_turn=nxt.role == "monitor")

    def _show_all(self) -> None:
        state, now = self.session.state, self.clock.wall()
        nxt = next_action(state, now)
        self.query_one(TopBar).show(state, now, self._deployment)
        self._show_panes(state, now, nxt)
        banner = self.query_one("#banner", Label)
        text, kind = render.banner(state)
        banner.display = bool(kind)
        for name in ("-advised", "-rollback", "-verified", "-failed"):
            banner.set_class(name == kind, name)
        banner.show(text)
        nxt = next_action(state, now)
        self.query_one("#next", Label).show(self._next_text(state, nxt))
        self.query_one("#keys", Label).show(self._key_bar(state, nxt))
        if state.phase.finished:
            report = next(
                (p for p in self.session.evidence if p.name == "DEPLOYMENT-REPORT.md"), None
            )
            paths = [("record:", str(self.session.journal_path))]
            if report is not None:
                paths.append(("report:", str(report)))
            self._notice(render.Paths(paths), error=False)
            if self.session.evidence_error:
                self._notice(f"✘ {self.session.evidence_error}")
        failure = self.session.journal_failure
        if failure is not None:
            self._notice(
                render.journal_failed(
                    failure.why.removeprefix(f"{self.session.journal_path}: "),
                    list(failure.decisions),
                    failure.events,
                    failure.samples,
                )
            )

    def _schedule_tick(self) -> None:
        """Tick just after the timer's next whole second: every terminal on the session
        (joined, watching, in a browser) then turns T+ over at the same moment, not up to a
        second apart as interval timers started at different times would."""
        now, t0 = self.clock.wall(), self.session.state.t0
        into_second = (now - t0) % 1.0 if t0 is not None else now % 1.0
        self.set_timer(1.0 - into_second + TICK_AFTER, self._aligned_tick)

    def _aligned_tick(self) -> None:
        try:
            self._tick()
        finally:
            self._schedule_tick()

    def _tick(self) -> None:
        self.session.check_loops()  # a clock loop that went silent is said at once
        state, now = self.session.state, self.clock.wall()
        self.query_one(TopBar).tick(state, now)
        nxt = next_action(state, now)
        self.query_one("#next", Label).show(self._next_text(state, nxt))
        self.query_one("#keys", Label).show(self._key_bar(state, nxt))
        monitor_turn = nxt.role == "monitor"
        self.query_one(MonitorPane).show(state, now, self.session.profile, your_turn=monitor_turn)
        if state.phase in (Phase.BRIEFING, Phase.CHECKLIST):
            # Check ages move; the rest of the pane changes only with events (_show_all).
            self.query_one(OperatorPane).tick(state, now, your_turn=nxt.role == "operator")
        elif state.phase is Phase.INCIDENT:
            # What is RED now follows the samples, which redraw nothing by themselves.
            self.query_one(OperatorPane).show_briefing(state, self.session.profile)

    def _key_bar(self, state: State, nxt: Next) -> Text | render.KeyRow:
        if self.session.read_only:
            return render.watching_bar(state)
        beside_r = state.rollback_checks_red() if state.phase is Phase.INCIDENT else []
        seat = self.session.seat
        if seat is None:
            return render.key_bar(keys_for(state, nxt), beside_r)
        keys = [k for k in keys_for(state, nxt) if KEYS[k][0] in (seat, "anyone")]
        return render.key_bar(keys, beside_r, seat=seat)

    def _next_text(self, state: State, nxt: Next) -> Text:
        """NEXT, and, where the crew acts by identity, in whose terminal."""
        crew = self.session.crew
        return render.next_text(nxt, where=render.whose_terminal(state, nxt, crew.by_identity))

    def _notice(self, text: str | render.Paths, *, error: bool = True) -> None:
        notice = self.query_one("#notice", Label)
        notice.show(text)
        notice.set_class(error, "-error")
        notice.set_class(not str(text), "-empty")

    # ------------------------------------------------------------ output

    def _follow(self, path: Path, event: Event) -> None:
        if path == self._tail_path:
            return
        self._pump_output()
        pane = self.query_one(OperatorPane)
        if self._tail is not None:
            pane.write_output(self._tail.flush_partial())
        if event.body["purpose"] == "rollback":
            what = f"ROLLBACK COMMAND {int(event.body['ref']) + 1}"
        else:
            what = f"STEP {event.body['ref']}"
        argv = " ".join(str(a) for a in event.body.get("argv", []))
        pane.write_output([f"──── {what} · pid {event.body['pid']} · $ {argv}"])
        self._tail_path = path
        self._tail = self.session.output_source(path)
        if self._tail is None:
            pane.write_output([f"(the output is in {path}, which only its owner may read)"])
            return
        self._output_timer.resume()

    def _pump_output(self) -> None:
        """Move what the running process wrote onto the screen, in one batch per tick."""
        with self.session.loops.guard.one_pass("output"):
            self._read_output()

    def _read_output(self) -> None:
        if self._tail is None:
            return
        lines: list[str] = []
        skipped = self._tail.catch_up(CATCH_UP_KEEP)
        if skipped:
            # The screen keeps only the newest lines: do not read what it would drop. The
            # rollback key must never wait behind a flood of output.
            lines.append(f"… {skipped // 1024} KiB not shown here; {self._tail.path} has all …")
        for _ in range(8):  # at most 8 reads of 64 KiB per 0.1 s tick
            batch = self._tail.read_lines()
            if not batch:
                break
            lines.extend(batch)
        if lines:
            self.query_one(OperatorPane).write_output(lines)
            self._lines_since_trim += len(lines)
        elif self._lines_since_trim >= TRIM_AFTER_LINES:
            self._lines_since_trim = 0
            release_free_memory()

    # ------------------------------------------------------------ intents

    def _actor(self, role: str) -> Actor:
        return self.session.crew.actor(role)

    def _crew(self) -> Actor:
        """Keys anyone may press: on a shared screen we cannot tell who, so say so."""
        return self.session.crew.anyone()

    async def _do(self, make: Callable[[float], i.Intent]) -> bool:
        try:
            await self.session.act(make(self.clock.wall()))
        except Refusal as refusal:
            self._notice(f"✘ REFUSED: {refusal.reason}")
            self.app.bell()
            return False
        self._notice("", error=False)
        return True

    async def action_rollback(self) -> None:
        """R: ROLLING BACK NOW. One key, no dialog."""
        crew = self._crew()
        await self._do(lambda now: i.RollBackNow(crew, now, "R pressed: ROLLING BACK NOW"))

    async def _typed_then_do(
        self, ask: confirm.Ask | None, who: str, make: Callable[[float, str | None], i.Intent]
    ) -> None:
        """Type to confirm, when the profile asks for it: the dialog opens only when the
        typed word is all that is missing (anything else is refused at once, as with one
        key); a wrong answer is the engine's to refuse and record."""
        typed: str | None = None
        if ask is not None and self._accepted(make(self.clock.wall(), ask.answers[0])):
            typed = await self.app.push_screen_wait(
                TypeToConfirmDialog(ask.question, who, ask.kind)
            )
            if typed is None:
                return  # Escape, or ctrl+r closed it
        await self._do(lambda now: make(now, typed))

    def _accepted(self, intent: i.Intent) -> bool:
        """Whether the engine would accept this now (it is pure: nothing is recorded)."""
        try:
            decide(self.session.state, intent)
        except Refusal:
            return False
        return True

    @work(exclusive=True, group="dialog")
    async def action_readback(self) -> None:
        """t: the Monitor reads the triggers back: answers the readback question (one key in
        an incident, or when the profile turned it off)."""
        state = self.session.state
        ask = None if state.is_incident else confirm.readback_ask(self.session.profile)
        await self._typed_then_do(
            ask,
            "Monitor",
            lambda now, typed: i.ConfirmReadback(self._actor("monitor"), now, typed=typed),
        )

    async def action_go(self, role: str) -> None:
        """g / m: a role's GO."""
        await self._do(lambda now: i.Go(self._actor(role), now))

    async def action_confirm(self, role: str) -> None:
        """c / k: confirm the next manual check of that role."""
        check = manual_pending(self.session.state, role)
        if check is None:
            self._notice(f"✘ no manual check is waiting for the {role.capitalize()}")
            return
        await self._do(lambda now: i.ConfirmManualCheck(self._actor(role), now, check))

    def _next_step_id(self) -> str | None:
        upcoming = self.session.state.next_step()
        return None if upcoming is None else upcoming[1].id

    async def action_verify(self) -> None:
        """v: the Monitor verifies the next step's command (in an incident: the rollback's)."""
        if self.session.state.is_incident:
            commands = tuple(tuple(c) for c in self.session.profile.rollback.commands)
            await self._do(lambda now: i.VerifyRollbackPlan(self._actor("monitor"), now, commands))
            return
        step = self._next_step_id()
        if step is not None:
            command = self._resolved_command(step)
            await self._do(lambda now: i.VerifyStep(self._actor("monitor"), now, step, command))

    def _resolved_command(self, step_id: str) -> tuple[str, ...]:
        """The command as it will run (references resolved): what the Monitor verifies."""
        for _, step in self.session.profile.steps():
            if step.id == step_id:
                return tuple(step.command)
        return ()

    async def action_run_step(self) -> None:
        """x: the Operator runs the next step."""
        step = self._next_step_id()
        if step is not None:
            command = self._resolved_command(step)
            await self._do(lambda now: i.RunStep(self._actor("operator"), now, step, command))

    @work(exclusive=True, group="dialog")
    async def action_acknowledge(self) -> None:
        """i: the Operator acknowledges a point of no return (types the service's name, or
        the environment's in production)."""
        step = self._next_step_id()
        if step is not None:
            await self._typed_then_do(
                confirm.irreversible_ask(self.session.profile, step),
                "Operator",
                lambda now, typed: i.AcknowledgeIrreversible(
                    self._actor("operator"), now, step, typed=typed
                ),
            )

    @work(exclusive=True, group="dialog")
    async def action_approve(self) -> None:
        """p: an approver records approval (asks for the approver's name; for a production
        gate, then the environment's name)."""
        step = self._next_step_id()
        if step is None:
            return
        approvers = self.session.crew.approvers
        hint = f" ({', '.join(approvers)})" if approvers else ""
        name = await self.app.push_screen_wait(ReasonDialog(f"Approver's name{hint}:"))
        if name:
            actor = Actor(role="approver", user=name, tty=self.session.crew.tty)
            await self._typed_then_do(
                confirm.approval_ask(self.session.profile, step),
                f"Approver {name}",
                lambda now, typed: i.ApproveStep(actor, now, step, typed=typed),
            )

    async def action_accept(self) -> None:
        """y: the Monitor accepts an INCONCLUSIVE stop point."""
        await self._do(
            lambda now: i.AcceptInconclusive(
                self._actor("monitor"), now, "accepted on screen by the Monitor"
            )
        )

    @work(exclusive=True, group="dialog")
    async def action_hold(self) -> None:
        """h: HOLD, with a reason."""
        reason = await self.app.push_screen_wait(ReasonDialog("HOLD: why are we stopping?"))
        if reason:
            await self._do(lambda now: i.Hold(self._crew(), now, reason))

    async def action_resume(self) -> None:
        """u: resume from HOLD."""
        await self._do(lambda now: i.Resume(self._crew(), now))

    @work(exclusive=True, group="dialog")
    async def action_nogo(self) -> None:
        """n: NO-GO, with a reason."""
        reason = await self.app.push_screen_wait(ReasonDialog("NO-GO: what is not ready?"))
        if reason:
            await self._do(lambda now: i.NoGo(self._crew(), now, reason))

    @work(exclusive=True, group="dialog")
    async def action_abort(self) -> None:
        """A: abort before execution."""
        reason = await self.app.push_screen_wait(ReasonDialog("ABORT the session: why?"))
        if reason:
            await self._do(lambda now: i.Abort(self._crew(), now, reason))

    def action_rerun_checks(self) -> None:
        """e: run the readiness checks again now."""
        self.run_worker(
            self.session.run_checks(), group="checks-now", exclusive=True, exit_on_error=False
        )
        self._notice("re-running the readiness checks…", error=False)

    @work(exclusive=True, group="dialog")
    async def action_quit(self) -> None:
        """q: quit; asks first while execution is under way (not when only watching)."""
        state = self.session.state
        if state.t0 is not None and not state.phase.finished and not self.session.read_only:
            question = (
                f"Quit during {state.phase.value}? Running processes keep running and the "
                f"journal stays at {self.session.journal_path}. Quit?"
            )
            if not await self.app.push_screen_wait(ConfirmDialog(question)):
                return
        self.app.exit()
