"""The Monitor pane: every metric with its sparkline, value, threshold, age and state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.engine import State
from cockpit.profile import Profile
from cockpit.ui import render
from cockpit.ui.widgets.text import Label


def dom_id(metric_id: str) -> str:
    """A widget id for a metric: profile ids may hold dots, Textual ids may not (and two
    different metric ids never give the same widget id)."""
    return "metric-" + metric_id.replace("_", "__").replace(".", "_d")


class MetricRow(Static):
    """One metric on one line."""

    def __init__(self, metric_id: str) -> None:
        super().__init__(id=dom_id(metric_id), classes="metric-row")
        self.metric_id = metric_id
        self._shown: object = None

    def show(self, state: State, now: float, width: int) -> None:
        """Redraw only if what the row shows has changed."""
        assert state.profile is not None
        text = render.inert_text(
            render.metric_row(state.profile.metric(self.metric_id), state, now, width)
        )
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

    def compose(self) -> ComposeResult:
        yield Label("MONITOR", classes="pane-title", id="monitor-title")
        yield from self.rows
        yield Label(id="monitor-task")
        yield Label(id="verdict")
        yield Label(id="verification")

    def show(self, state: State, now: float, resolved: Profile, *, your_turn: bool = False) -> None:
        """Redraw the rows and the verdict."""
        width = self.content_region.width or 60
        for row in self.rows:
            row.show(state, now, width)
        # Empty parts take no rows: at 80x24 every row counts.
        for selector, content in (
            ("#monitor-task", render.monitor_task(state, resolved, brief=not self.detailed)),
            ("#verdict", render.stop_point(state, now, detailed=self.detailed)),
            ("#verification", render.verification(state, detailed=self.detailed)),
        ):
            label = self.query_one(selector, Label)
            label.show(content)
            label.display = not (isinstance(content, Text) and not content.plain)
        title = render.styled("MONITOR · " + state.crew.get("monitor", ""), "bold")
        if your_turn:
            title.append("  ◀ YOUR TURN", style="bold reverse")
        self.query_one("#monitor-title", Label).show(title)
