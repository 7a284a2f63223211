"""The Operator pane: briefing, checklist, steps, and the live output of the running process."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Log, Static

from cockpit.engine import Phase, State
from cockpit.profile import Profile
from cockpit.ui import render


class OperatorPane(Vertical):
    """The procedure as the Operator follows it."""

    def compose(self) -> ComposeResult:
        yield Static("OPERATOR", classes="pane-title", id="operator-title")
        with VerticalScroll(id="procedure"):
            yield Static(id="briefing")
            yield Static(id="checklist")
            yield Static(id="steps")
        yield Log(id="output", max_lines=2000, auto_scroll=True)

    def show(self, state: State, now: float, resolved: Profile) -> None:
        """Show what this phase needs; during execution, only commands and status."""
        phase = state.phase
        briefing = self.query_one("#briefing", Static)
        checklist = self.query_one("#checklist", Static)
        steps = self.query_one("#steps", Static)
        sterile = state.t0 is not None
        briefing.display = phase is Phase.BRIEFING or (phase.finished and not sterile)
        checklist.display = phase in (Phase.BRIEFING, Phase.CHECKLIST)
        steps.display = True
        if briefing.display:
            briefing.update(render.briefing(state))
        if checklist.display:
            checklist.update(render.checklist(state, now))
        steps.update(render.steps(state, resolved))
        self.query_one("#output", Log).display = sterile
        title = "OPERATOR · " + state.crew.get("operator", "")
        title += (
            "   (keys: g c x i)" if not sterile else "   STERILE COCKPIT: commands and status only"
        )
        self.query_one("#operator-title", Static).update(title)

    def write_output(self, lines: list[str]) -> None:
        """Append process output in one batch (never a line at a time)."""
        if lines:
            self.query_one("#output", Log).write_lines(lines)
