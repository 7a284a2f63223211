"""The Operator pane: briefing, checklist, steps, and the live output of the running process."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Log

from cockpit.engine import Phase, State
from cockpit.inert import inert, is_inert
from cockpit.profile import Profile
from cockpit.ui import incident, render
from cockpit.ui.widgets.text import Label

_PRINTABLE = bytes(range(0x20, 0x7F))
"""ASCII that takes one cell each; a tab or another control character is measured as Log
shows it."""


class OutputLog(Log):
    """The live output of a process: keeps following its end when the pane is resized."""

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        """Widen the scrollable width to the widest new line, here and now.

        Textual 8.2.8's Log does this in a thread worker per write, through rich's
        ``cell_len``, whose process-wide cache then keeps the last 4,096 lines of a flood
        alive, and the worker keeps its batch until it is collected: a 200k-line flood grew
        the cockpit by 2.3-2.8 MB, by 0.8-0.9 MB with this (benchmarks/ui_log_flood.py).
        Output lines are inert and mostly ASCII, where a line's width is its length (the
        rest is measured as Textual does): 2,000 lines of a flood take 0.1 ms.
        """
        if not lines:
            return
        text = "".join(lines)
        if text.isascii() and not text.encode("ascii").translate(None, _PRINTABLE):
            widest = max(map(len, lines))  # one cell a character: shown as they are
        else:
            process = self._process_line
            widest = 0
            for line in lines:
                shown = process(line)
                widest = max(widest, len(shown) if shown.isascii() else cell_len(shown))
        self._update_maximum_width(updates, widest)

    def on_resize(self) -> None:
        # Log follows its end only on writes; a banner that grows or shrinks after the last
        # write would otherwise leave the newest lines out of view.
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=True)


class OperatorPane(Vertical):
    """The procedure as the Operator follows it."""

    def __init__(self, checks: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.checklist_parts = [
            Label(classes=f"checklist-part {'check-why' if n % 2 else 'check-head'}")
            for n in range(2 * checks)
        ] + [Label(classes="checklist-part")]
        """Two parts per readiness check (its title; why, indented), then the GO lines (kept:
        the 1 s tick redraws them)."""
        self._ages_shown: tuple[str, ...] | None = None
        self._parts: list[Text] = []
        """The checklist's parts as last rendered; those in ``_unshown`` wait to be shown."""
        self._unshown: set[int] = set()
        self._title = Text("OPERATOR")

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
                steps.show(render.Hanging(incident.rollback_plan(state, resolved)))
        else:
            steps.display = True
            steps.show(render.Hanging(render.steps(state, resolved)))
        if briefing.display:
            self.show_briefing(state, resolved)
        self.query_one("#output", Log).display = sterile
        self.set_class(sterile, "-sterile")
        self._ages_shown = None  # something happened: redraw the checklist, not only its ages
        self.tick(state, now, your_turn=your_turn)
        self._show_parts(everywhere=True)  # the layout may change: what is in view, too

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
            self._parts = render.checklist(state, now)
            self._unshown = set(range(len(self._parts)))
        self._show_parts(everywhere=False)
        title = render.styled("OPERATOR · " + state.crew.get("operator", ""), "bold")
        if your_turn:
            title.append("  ◀ YOUR TURN", style="bold reverse")
        if state.t0 is not None and state.phase is not Phase.INCIDENT:
            title.append("   sterile cockpit", style="dim")
        self._title = title
        self.show_position()

    def _show_parts(self, *, everywhere: bool) -> None:
        """Show the checklist's new parts: those in view, or ``everywhere``.

        A part out of view waits: it is shown on a scroll, a resize or an event that redraws
        the pane, or on the tick after it came into view another way. Textual redraws a
        widget out of view by arranging the whole screen again: 2.2 ms of CPU a time, about
        once a second in the briefing, where the checks' ages move below the fold (measured
        in the demo at 120x40).
        """
        if not self._unshown:
            return
        view = self.query_one("#procedure", VerticalScroll).content_region
        for n in sorted(self._unshown):
            label = self.checklist_parts[n]
            if everywhere or label.region.overlaps(view):
                label.show(self._parts[n])
                self._unshown.discard(n)

    def on_mount(self) -> None:
        procedure = self.query_one("#procedure", VerticalScroll)
        self.watch(procedure, "scroll_y", lambda _: self._scrolled(), init=False)

    def _scrolled(self) -> None:
        self._show_parts(everywhere=True)
        self.show_position()

    def on_resize(self) -> None:
        self._show_parts(everywhere=True)
        self.show_position()

    def show_position(self) -> None:
        """The title, and whether the procedure goes on above or below what is in view (the
        pane says it in words: a scrollbar's thumb alone is lost without colour)."""
        procedure = self.query_one("#procedure", VerticalScroll)
        title = self._title.copy()
        title.append_text(render.scroll_hint(procedure.scroll_y, procedure.max_scroll_y))
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
