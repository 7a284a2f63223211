"""The Monitor pane: every metric with its sparkline, value, threshold, age and state."""

from __future__ import annotations

from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from cockpit.engine import Phase, State
from cockpit.engine.state import Past
from cockpit.profile import Profile
from cockpit.sample import Status
from cockpit.ui import incident, render
from cockpit.ui.widgets.text import Label


def dom_id(metric_id: str) -> str:
    """A widget id for a metric: profile ids may hold dots, Textual ids may not (and two
    different metric ids never give the same widget id)."""
    return "metric-" + metric_id.replace("_", "__").replace(".", "_d")


class HistoryShown(Protocol):
    """Another history than the state's for the rows, and its line (a replay's Prometheus
    history, drawn up to the replayed moment)."""

    def past_at(self, metric_id: str, wall: float) -> Past | None:
        """The history of ``metric_id`` up to ``wall``; None: the state's."""

    def note(self, width: int) -> Text | None:
        """The line under the rows, at most ``width`` wide; None: the state's."""


class MetricRow(Static):
    """One metric on one line."""

    def __init__(self, metric_id: str) -> None:
        super().__init__(id=dom_id(metric_id), classes="metric-row")
        self.metric_id = metric_id
        self._shown: object = None

    def show(self, state: State, now: float, width: int, past: Past | None = None) -> None:
        """Redraw only if what the row shows has changed (``past``: see
        :func:`render.metric_row`)."""
        assert state.profile is not None
        metric = state.profile.metric(self.metric_id)
        text = render.inert_text(render.metric_row(metric, state, now, width, past))
        key = text.plain
        if key != self._shown:
            self._shown = key
            self.update(text, layout=False)  # one line of fixed height: never a layout pass


class MonitorPane(Vertical):
    """What the Monitor watches and must verify next."""

    def __init__(self, metric_ids: list[str]) -> None:
        super().__init__(id="monitor")
        self.metric_ids = metric_ids
        self.rows = [MetricRow(metric_id) for metric_id in metric_ids]
        """One row per metric, in profile order (kept: the 1 s tick redraws them)."""
        self.detailed = True
        """Whether there is room for per-metric verdict lines."""
        self._shown_with: tuple[State, float, Profile, bool] | None = None
        self._fitted_to: tuple[int, int | None] | None = None
        """The width and room of the last drawing: a refit to the same room is skipped."""
        self.history: HistoryShown | None = None
        """Another history than the state's for the rows (a replay's Prometheus history)."""

    def compose(self) -> ComposeResult:
        yield Label("MONITOR", classes="pane-title", id="monitor-title")
        yield from self.rows
        yield Label(id="metrics-hidden")
        yield Label(id="history-note")
        yield Label(id="monitor-task")
        yield Label(id="verdict")
        yield Label(id="verification")

    def show(self, state: State, now: float, resolved: Profile, *, your_turn: bool = False) -> None:
        """Redraw the rows and the verdict."""
        self._shown_with = (state, now, resolved, your_turn)
        width = self.content_region.width or 60
        room = self._room()
        self._fitted_to = (width, room)
        detailed = self.detailed
        # Empty parts take no rows: at 80x24 every row counts.
        used = self._show_task_and_verdict(state, now, resolved, width, detailed=detailed)
        if detailed and room is not None and used > room // 2:
            # Many metrics in the window: one verdict line, so the rows keep their room.
            used = self._show_task_and_verdict(state, now, resolved, width, detailed=False)
        if room is not None and used > room - len(self.rows) and state.phase is Phase.INCIDENT:
            # In an incident the metrics come before the Monitor's task: it takes one line.
            used = self._show_task_and_verdict(
                state, now, resolved, width, detailed=False, brief_task=True
            )
        shown = self._fit_rows(state, None if room is None else room - used)
        history = self.history
        for row in shown:
            past = history.past_at(row.metric_id, now) if history is not None else None
            row.show(state, now, width, past)
        title = render.styled("MONITOR · " + state.crew.get("monitor", ""), "bold")
        if your_turn:
            title.append("  ◀ YOUR TURN", style="bold reverse")
        self.query_one("#monitor-title", Label).show(title)

    def on_resize(self) -> None:
        # The terminal changed: fit the rows again at once.
        self.refit()

    def refit(self) -> None:
        """Show again what was last shown, fitted to the room there is now.

        Both this pane and the body around it hear of a new size, usually in the same layout:
        drawn twice, the pane held the event loop twice as long, at the first frame too,
        where an R may be waiting (faulthandler traces of ``benchmarks/incident.py``).
        """
        if (self.content_region.width or 60, self._room()) == self._fitted_to:
            return  # the same room: the rows and the verdict would be drawn the same
        if self._shown_with is not None:
            state, now, resolved, your_turn = self._shown_with
            self.show(state, now, resolved, your_turn=your_turn)

    def _show_task_and_verdict(
        self,
        state: State,
        now: float,
        resolved: Profile,
        width: int,
        *,
        detailed: bool,
        brief_task: bool = False,
    ) -> int:
        """Show the Monitor's task, the verdict and the verification; the rows they take."""
        used = trailing = 0
        # With no room in an incident, the rows say it all: no verdict of the window since T0,
        # no note (the briefing has it).
        crowded = brief_task and state.phase is Phase.INCIDENT
        for selector, content in (
            ("#history-note", Text("") if crowded else self._history_note(state, width)),
            (
                "#monitor-task",
                _monitor_task(state, resolved, short=not self.detailed, brief=brief_task),
            ),
            ("#verdict", Text("") if crowded else render.stop_point(state, now, detailed=detailed)),
            ("#verification", render.verification(state, detailed=detailed)),
        ):
            label = self.query_one(selector, Label)
            label.show(content)
            label.display = not (isinstance(content, Text) and not content.plain)
            if label.display and self.is_mounted:
                height = label.get_content_height(self.content_region.size, self.app.size, width)
                used += height + label.styles.margin.top
                plain = content.plain if isinstance(content, Text) else ""
                trailing = len(plain) - len(plain.rstrip("\n"))
        # Blank lines at the very end of the pane may be cut off.
        return used - trailing

    def _history_note(self, state: State, width: int) -> Text:
        note = self.history.note(width) if self.history is not None else None
        return note if note is not None else render.history_note(state)

    def _room(self) -> int | None:
        """Rows inside the pane (below its title), or None before the first layout.

        An auto-height pane (80 columns: stacked under the Operator pane) grows up to its
        max-height; that cap is its room.
        """
        if not self.is_mounted or not self.size.height:
            return None
        height = self.size.height
        if self.styles.height is not None and self.styles.height.is_auto:
            cap = self.styles.max_height
            if cap is None:
                return None
            parent = self.parent
            if not isinstance(parent, Widget):
                return None
            height = int(cap.resolve(parent.content_region.size, self.app.size))
        return height - self.styles.gutter.height - 1

    def _fit_rows(self, state: State, room: int | None) -> list[MetricRow]:
        """The rows to show in ``room`` lines; the others give way to one line that says
        how many are hidden and whether they all PASS. Rows that are not PASS come first,
        so what needs the Monitor's eyes is never what is cut off."""
        shown = self.rows
        if room is not None and room < len(self.rows):
            order = sorted(self.rows, key=lambda r: _passing(state, r.metric_id))
            keep = {id(r) for r in order[: max(0, room - 1)]}  # one line says what is hidden
            shown = [r for r in self.rows if id(r) in keep]
        visible = {id(r) for r in shown}
        hidden = [r for r in self.rows if id(r) not in visible]
        for row in self.rows:
            if row.display != (id(row) in visible):
                row.display = id(row) in visible
        label = self.query_one("#metrics-hidden", Label)
        label.display = bool(hidden)
        if hidden:
            failing = sum(1 for r in hidden if not _passing(state, r.metric_id))
            why = f"{failing} not PASS" if failing else "all ✔ PASS"
            label.show(render.styled(f"+ {len(hidden)} more metrics ({why})", "dim"))
        return shown


def _monitor_task(state: State, resolved: Profile, *, short: bool, brief: bool) -> Text:
    """The Monitor's task; ``short``: a short terminal; ``brief``: the pane has little room
    (in an incident the metric rows come first, the task shrinks to one line)."""
    if state.phase is Phase.INCIDENT:
        return incident.monitor_task(state, resolved, brief=short or brief)
    if state.phase is Phase.STABILIZING:
        return Text("") if short else render.styled(STABILIZING_TASK, "bold")
    return render.monitor_task(state, resolved, brief=short)


STABILIZING_TASK = "MONITOR: watch the metrics: GREEN to the end of the window mitigates."


def _passing(state: State, metric_id: str) -> bool:
    history = state.metrics[metric_id].history
    return bool(history) and history[-1].status is Status.PASS
