"""``cockpit replay``: the cockpit's own screen, driven by a journal's records in their time.

The screen is the live cockpit's (:class:`CockpitScreen`), read-only, showing a
:class:`ReplaySession` whose clock is the replayed wall time; this module adds the replay's
keys, its status line, a one-row timeline and a small T+ input. Playing moves the replay by
the real time that passed between two ticks of a timer, read from an injected clock, so a
test moves it exactly (:meth:`ReplayScreen.play_tick` with a fake clock).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock, SystemClock
from cockpit.durations import format_clock
from cockpit.engine import State
from cockpit.engine.kinds import Kind
from cockpit.engine.state import Past
from cockpit.guide import Next
from cockpit.journal import JournalError, Record
from cockpit.replay import DECISIONS, Replayer, ReplaySession, TimeError, parse_t_plus
from cockpit.replay_history import Status, failed
from cockpit.runner import OutputTail
from cockpit.ui import render
from cockpit.ui.app import CockpitApp
from cockpit.ui.screens.cockpit import CockpitScreen
from cockpit.ui.widgets.metrics import MonitorPane
from cockpit.ui.widgets.procedure import OperatorPane
from cockpit.ui.widgets.text import Label
from cockpit.ui.widgets.topbar import TopBar

PLAY_TICK = 0.1
"""Seconds between moves of a playing replay."""
OUTPUT_LINES = 2000
"""At most this many lines of a process's output file are shown (the screen keeps 2000)."""

_FINISHES = {Kind.STEP_FINISHED, Kind.ROLLBACK_COMMAND_FINISHED}


class ReplayScreen(CockpitScreen):
    """The cockpit screen of a replayed journal: the replay's keys, nothing that acts."""

    inherit_bindings = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "play / pause"),
        Binding("right", "step(1)", "next record"),
        Binding("left", "step(-1)", "previous record"),
        Binding("n", "next_decision", "next decision"),
        Binding("plus,equals_sign", "faster", "faster"),
        Binding("minus", "slower", "slower"),
        Binding("g", "ask_time", "go to T+"),
        Binding("escape", "cancel_time", "cancel", show=False),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        session: ReplaySession,
        clock: Clock,
        *,
        run_loops: bool = True,
        real_clock: Clock | None = None,
    ) -> None:
        super().__init__(session, clock, run_loops=run_loops)
        self.replay = session
        self.replayer: Replayer = session.replayer
        self.real_clock = real_clock or SystemClock()
        self._last_real = self.real_clock.monotonic()
        self._output_shown: tuple[tuple[int, bool], ...] | None = None
        self._message = ""
        self._prometheus = PrometheusShown(session)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Every replay key works (the screen's own keys are not bound here)."""
        return True

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Label(id="timeline")
        yield Input(
            placeholder="go to T+ (12:30, 1:02:03 or 750s), enter: go, escape: cancel",
            id="goto",
        )

    def on_mount(self) -> None:
        self.query_one("#goto", Input).display = False
        self.query_one(TopBar).clock_started = True  # replayed time: from the first frame on
        self.set_interval(PLAY_TICK, self.play_tick)
        self._moved()

    def _follow_latest(self) -> None:
        """The output follows the replayed position (see :meth:`_show_output`)."""

    @on(Worker.StateChanged)
    def _history_read(self, event: Worker.StateChanged) -> None:
        """The Prometheus history arrived (or its reading failed): show it where the replay
        stands."""
        if event.worker.group != "history":
            return
        if event.state is WorkerState.ERROR:
            wanted = self.replay.history
            why = f"reading failed: {type(event.worker.error).__name__}"
            self.replay.history = failed(wanted.start, wanted.end, why)
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._moved()

    # ------------------------------------------------------------ keys

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A move reads the journal again; one that changed since it verified stops the
        replay where it is, said on screen (the state is the fold of the records before)."""
        try:
            yield
        except JournalError as exc:
            self.replayer.playing = False
            self._say(f"✘ {exc}")
            self.app.bell()

    def action_toggle_play(self) -> None:
        """space: play from here at the current speed, or pause."""
        with self._reading():
            self.replayer.toggle()
        self._last_real = self.real_clock.monotonic()
        self._moved()

    def action_step(self, by: int) -> None:
        """→ / ←: the next or previous record (pauses)."""
        self.replayer.playing = False
        with self._reading():
            self.replayer.step(by)
        self._moved()

    def action_next_decision(self) -> None:
        """n: the next decision (GO, a step, the advice, R, a verdict); pauses."""
        self.replayer.playing = False
        with self._reading():
            if not self.replayer.next_decision():
                self._say("no decision after this record")
        self._moved()

    def action_faster(self) -> None:
        """+: twice as fast (up to 64x)."""
        self.replayer.faster()
        self._moved()

    def action_slower(self) -> None:
        """-: half as fast (down to 1x)."""
        self.replayer.slower()
        self._moved()

    def action_ask_time(self) -> None:
        """g: ask for a T+ time to go to."""
        box = self.query_one("#goto", Input)
        box.value = ""
        box.display = True
        box.focus()

    def action_cancel_time(self) -> None:
        """escape: close the T+ input."""
        box = self.query_one("#goto", Input)
        if box.display:
            box.display = False
            self.set_focus(None)

    @on(Input.Submitted, "#goto")
    def _time_given(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            seconds = parse_t_plus(event.value)
        except TimeError as exc:
            self._say(f"✘ {exc}")
            self.app.bell()
            self._moved()
            return  # the input stays open to be corrected
        self.action_cancel_time()
        self.replayer.playing = False
        with self._reading():
            reached = self.replayer.go_to_t_plus(seconds)
            if abs(reached - seconds) >= 1:
                self._say(f"the journal covers T+{_clock(reached)} at most there; shown from it")
        self._moved()

    def action_quit(self) -> None:  # type: ignore[override]
        """q: stop the replay (nothing to ask: it changes nothing)."""
        self.app.exit()

    # ------------------------------------------------------------ moving

    def play_tick(self) -> None:
        """Move a playing replay by the real time since the last tick, times the speed."""
        now = self.real_clock.monotonic()
        elapsed, self._last_real = now - self._last_real, now
        if self.replayer.playing:
            with self._reading():
                self.replayer.advance(elapsed)
            self._moved()

    def _say(self, message: str) -> None:
        self._message = message

    def _moved(self) -> None:
        """Redraw everything for the replayed position."""
        self._show_all()
        self._show_output()

    def _show_all(self) -> None:
        self.query_one(MonitorPane).history = self._prometheus
        super()._show_all()
        damage = self.replay.damage
        line = timeline(self.replayer, self._width(), damaged=damage is not None)
        self.query_one("#timeline", Label).show(line)
        notice = self._message
        if damage is not None:
            stop = damage.describe(self.replayer.last)
            notice = f"{notice}   ⚠ {stop}" if notice else f"⚠ {stop}"
        if notice:
            self._notice(notice, error=damage is not None or notice.startswith("✘"))
        elif not self.session.state.phase.finished:
            self._notice("", error=False)
        self._message = ""

    def _width(self) -> int:
        return max(20, (self.size.width or 80) - 2)

    def _key_bar(self, state: State, nxt: Next) -> Text:
        return status_line(self.replayer, state, self._width())

    # ------------------------------------------------------------ output

    def _show_output(self) -> None:
        """The output of each process started up to the replayed record: its header, and,
        once the replay reaches its end, what its output file holds (the journal does not
        time the output, so it is shown whole when the process finished, never earlier)."""
        replayer = self.replayer
        shown: list[tuple[int, bool]] = []
        # The processes and their ends are among the records the replay keeps (LANDMARKS).
        records = [r for n, r in replayer.landmarks if n <= replayer.position]
        for n, record in enumerate(records):
            if record.kind == Kind.PROCESS_STARTED:
                shown.append((n, _finished(records[n + 1 :], record.body)))
        key = tuple(shown)
        if key == self._output_shown:
            return
        self._output_shown = key
        pane = self.query_one(OperatorPane)
        pane.query_one("#output").clear()  # type: ignore[attr-defined]
        for n, done in shown:
            body = records[n].body
            if body["purpose"] == "rollback":
                what = f"ROLLBACK COMMAND {int(body['ref']) + 1}"
            else:
                what = f"STEP {body['ref']}"
            argv = " ".join(str(a) for a in body.get("argv", []))
            lines = [f"──── {what} · pid {body['pid']} · $ {argv}"]
            if done:
                lines += _output_of(Path(str(body["output"])), self.session.resolved.secrets)
            else:
                lines.append("(running: its output is shown when the replay reaches its end)")
            pane.write_output(lines)


class PrometheusShown:
    """The Monitor's rows draw the replay's Prometheus history up to the replayed moment
    (never after it), and its line under them says what it is, or why there is none."""

    def __init__(self, session: ReplaySession) -> None:
        self._session = session

    def past_at(self, metric_id: str, wall: float) -> Past | None:
        """The metric's Prometheus history up to ``wall``; None: the journal's."""
        return self._session.history.past_at(metric_id, wall)

    def note(self, width: int) -> Text | None:
        """The history's line; None when there is nothing to say (the journal's note then)."""
        history = self._session.history
        line = history.line(width)
        if not line:
            return None
        quiet = history.status in (Status.READING, Status.READ) and not history.reason
        return render.styled(line, "dim" if quiet else "yellow")


def _finished(later: Sequence[Record], body: Mapping[str, Any]) -> bool:
    """Whether the process that ``body`` (process.started) announced finished in ``later``."""
    for record in later:
        kind, rbody = record.kind, record.body
        if kind not in _FINISHES:
            continue
        if body["purpose"] == "step" and kind == Kind.STEP_FINISHED:
            if str(rbody.get("step")) == str(body["ref"]):
                return True
        if body["purpose"] == "rollback" and kind == Kind.ROLLBACK_COMMAND_FINISHED:
            if str(rbody.get("index")) == str(body["ref"]):
                return True
    return False


def _output_of(path: Path, secrets: tuple[str, ...] | list[str]) -> list[str]:
    tail = OutputTail(path, secrets=secrets)
    lines: list[str] = []
    with contextlib.suppress(OSError):
        for _ in range(64):  # at most 4 MiB
            batch = tail.read_lines()
            if not batch:
                break
            lines.extend(batch)
        lines.extend(tail.flush_partial())
    if not lines and not path.is_file():
        return [f"(the output file {path} is not there)"]
    return lines[-OUTPUT_LINES:]


def _clock(seconds: float) -> str:
    return format_clock(seconds)


_KEYS = (
    (("space", "play/pause"), ("←→", "record"), ("n", "next decision"), ("+-", "speed")),
    (("space", "play"), ("←→", "record"), ("n", "decision"), ("+-", "speed")),
    (("space", "play"), ("←→", ""), ("n", "decision"), ("+-", "")),
)
"""The replay's keys before ``g`` and ``q``, from the widest way to say them to the
narrowest."""


def status_line(replayer: Replayer, state: State, width: int = 200) -> Text:
    """The replay's status and keys, in place of the cockpit's key bar: the widest form that
    fits in ``width`` columns (the record's kind gives way first, then words of the keys)."""
    text = Text()
    for compact in (False, True):
        for keys in _KEYS:
            text = _status(replayer, state, keys, compact=compact)
            if text.cell_len <= width:
                return text
    return text


def _status(
    replayer: Replayer, state: State, keys: tuple[tuple[str, str], ...], *, compact: bool
) -> Text:
    text = Text()
    text.append(" REPLAY ", style="bold reverse")
    text.append(" PLAYING " if replayer.playing else " PAUSED ", style="bold")
    if compact:
        text.append(f"{replayer.speed}x {replayer.position}/{replayer.last}")
    else:
        text.append(f"{replayer.speed}x  record {replayer.position}/{replayer.last}")
        text.append(f" {replayer.record.kind}", style="dim")
    if state.t0 is not None:
        text.append(f" T+{_clock(replayer.wall - state.t0)}")
    text.append("  ")
    pad = "" if compact else " "
    for key, what in (*keys, ("g", "go to T+" if not compact else "T+"), ("q", "quit")):
        text.append(f"{pad}{key}{pad}", style="bold reverse")
        text.append(f" {what} " if what else " ")
    text.rstrip()
    return text


def timeline(replayer: Replayer, width: int, *, damaged: bool = False) -> Text:
    """One row: the journal from its first record to its last, a letter at each decision
    (see :data:`cockpit.replay.DECISIONS`), ``━`` for what was replayed and ``●`` where the
    replay is; an end that is not the session's end says ``✘`` (damage) or ``…``."""
    first, last = replayer.first_wall, replayer.last_wall
    t0 = replayer.t0
    end = f" T+{_clock(last - t0)}" if t0 is not None else f" {_clock(last - first)}"
    track = max(10, width - len(end) - 2)
    span = max(last - first, 1e-9)

    def column(wall: float) -> int:
        return min(track - 1, max(0, round((wall - first) / span * (track - 1))))

    here = column(replayer.wall)
    cells = ["━" if c < here else "─" for c in range(track)]
    rank = "IGNSFAVXR"
    for _, record in replayer.landmarks:
        mark = DECISIONS.get(record.kind)
        if mark is None:
            continue
        c = column(record.wall)
        if cells[c] in "━─" or rank.index(mark) >= rank.index(cells[c]):
            cells[c] = mark
    text = Text("├")
    for c, cell in enumerate(cells):
        if c == here:
            text.append("●", style="bold reverse")
        elif cell in "━─":
            text.append(cell, style="bold" if cell == "━" else "dim")
        else:
            text.append(cell, style="bold")
    text.append("✘" if damaged else "┤")
    text.append(end, style="dim")
    return text


class ReplayApp(CockpitApp):
    """The cockpit app showing a replay."""

    def __init__(
        self, session: ReplaySession, *, run_loops: bool = True, real_clock: Clock | None = None
    ) -> None:
        super().__init__(session, clock=session.clock, run_loops=run_loops)
        self.replay = session
        self.real_clock = real_clock

    def get_default_screen(self) -> ReplayScreen:
        """The replay screen is the first screen."""
        return ReplayScreen(
            self.replay, self.clock, run_loops=self.run_loops, real_clock=self.real_clock
        )


def make_replay_app(
    session: ReplaySession, *, run_loops: bool = True, real_clock: Clock | None = None
) -> ReplayApp:
    """The replay's app factory, for the CLI, the tests and the screenshot script.

    Args:
        session: The journal to replay (:meth:`ReplaySession.open`).
        run_loops: Start the screen's loops (a replay has none that read anything).
        real_clock: Where playing reads how much real time passed (tests: a fake clock).
    """
    return ReplayApp(session, run_loops=run_loops, real_clock=real_clock)
