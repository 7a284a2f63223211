"""The Operator pane: briefing, checklist, steps, and the live output of the running process."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Log

from cockpit.engine import Phase, State
from cockpit.inert import inert, is_inert
from cockpit.profile import Profile
from cockpit.ui import incident, render
from cockpit.ui.widgets.text import Label


class OutputLog(Log):
    """The live output of a process: keeps following its end when the pane is resized."""

    def on_resize(self) -> None:
        # Log follows its end only on writes; a banner that grows or shrinks after the last
        # write would otherwise leave the newest lines out of view.
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=True)


class OperatorPane(Vertical):
    """The procedure as the Operator follows it."""

    def __init__(self, checks: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.checklist_parts = [Label(classes="checklist-part") for _ in range(checks + 1)]
        """One part per readiness check, then the GO lines (kept: the 1 s tick redraws them)."""
        self._ages_shown: tuple[str, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Label("OPERATOR", classes="pane-title", id="operator-title")
        with VerticalScroll(id="procedure"):
            yield Label(id="briefing")
            with Vertical(id="checklist"):
                yield from self.checklist_parts
            yield Label(id="steps")
        yield OutputLog(id="output", max_lines=2000, auto_scroll=True)

    def show(self, state: State, now: float, resolved: Profile, *, your_turn: bool = False) -> None:
        """Show what this phase needs; during execution, only commands and status."""
        phase = state.phase
        briefing = self.query_one("#briefing", Label)
        checklist = self.query_one("#checklist", Vertical)
        steps = self.query_one("#steps", Label)
        # An incident before R: the short briefing takes the pane (there is no output yet).
        sterile = state.t0 is not None and phase is not Phase.INCIDENT
        briefing.display = phase in (Phase.BRIEFING, Phase.INCIDENT) or (
            phase.finished and not sterile
        )
        checklist.display = phase in (Phase.BRIEFING, Phase.CHECKLIST)
        if state.is_incident:
            # The deploy's steps went out before the cockpit; the way back is what counts.
            steps.display = phase is not Phase.INCIDENT
            if steps.display:
                steps.show(incident.rollback_plan(state, resolved))
        else:
            steps.display = True
            steps.show(render.steps(state, resolved))
        if briefing.display:
            self.show_briefing(state, resolved)
        self.query_one("#output", Log).display = sterile
        self.set_class(sterile, "-sterile")
        self._ages_shown = None  # something happened: redraw the checklist, not only its ages
        self.tick(state, now, your_turn=your_turn)

    def show_briefing(self, state: State, resolved: Profile) -> None:
        """The briefing: AIM-C for a deploy, what is RED and the way back for an incident."""
        briefing = self.query_one("#briefing", Label)
        if state.phase is Phase.INCIDENT:
            briefing.show(incident.briefing(state, resolved))
        else:
            briefing.show(render.briefing(state))

    def tick(self, state: State, now: float, *, your_turn: bool = False) -> None:
        """Redraw what moves with time alone: the checks' ages and whose turn it is."""
        checklist = self.query_one("#checklist", Vertical)
        ages = render.checklist_ages(state, now) if checklist.display else None
        if ages is not None and ages != self._ages_shown:
            self._ages_shown = ages
            parts = render.checklist(state, now)
            for label, part in zip(self.checklist_parts, parts, strict=True):
                label.show(part)
        title = render.styled("OPERATOR · " + state.crew.get("operator", ""), "bold")
        if your_turn:
            title.append("  ◀ YOUR TURN", style="bold reverse")
        if state.t0 is not None and state.phase is not Phase.INCIDENT:
            title.append("   sterile cockpit", style="dim")
        self.query_one("#operator-title", Label).show(title)

    def write_output(self, lines: list[str]) -> None:
        """Append process output in one batch (never a line at a time).

        The screen keeps the last ``max_lines`` lines; the output file keeps them all. Each
        line is shown inert (the output reader made the process's lines so already; one scan
        of the batch confirms it).
        """
        if not lines:
            return
        if not is_inert("".join(lines)):
            lines = [inert(line) for line in lines]
        log = self.query_one("#output", OutputLog)
        keep = log.max_lines or len(lines)
        log.write_lines(lines[-keep:])
        if log.max_lines is not None and log.line_count >= log.max_lines:
            # Textual 8.2.8: Log.write_lines refreshes the line numbers it had before trimming
            # to max_lines, so a full log at its end repaints nothing and looks hung.
            log.refresh()
