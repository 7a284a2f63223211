"""The top bar: environment, deployment, phase, the big timer and the contingency countdown."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits

from cockpit.engine import State
from cockpit.profile import ResolvedProfile
from cockpit.runner import Redactor
from cockpit.ui import render
from cockpit.ui.widgets.text import Label

CLOCK_BLANK = " " * len("00:00:00")
"""The clock before it starts: as wide as the time, so nothing moves when it comes."""


class TopBar(Horizontal):
    """What everyone in the room must see at a glance.

    The first frame is drawn without the time (the clock and the countdown come with
    :meth:`start_clock`, just after it): a first frame that does not depend on the moment is
    the same on every start, so it can be shown from a cache before Textual is even imported
    (``cockpit.first_frame``).
    """

    clock_started = False

    def __init__(self, *, production: bool, id: str | None = None) -> None:
        # The production mark is a class from the start: set on the first show, it made
        # Textual restyle the bar before the first frame.
        super().__init__(id=id, classes="-production" if production else "")

    def compose(self) -> ComposeResult:
        with Vertical(id="identity"):
            yield Label(id="environment")
            yield Label(id="deployment")
            yield Label(id="phase")
        yield Label("T", id="t-label")
        yield Digits(CLOCK_BLANK, id="timer")
        yield Label(id="countdown")

    def show(self, state: State, now: float, deployment: str) -> None:
        """Update everything but the clock (phase changes, holds). ``deployment``: its name,
        service and owner as the profile resolved them (see :func:`deployment_text`)."""
        self.query_one("#environment", Label).show(render.environment_text(state))
        # A loop that stopped, or a lost lock, outranks the deployment's name.
        alarm = render.loop_alarm(state) or render.lock_alarm(state)
        self.query_one("#deployment", Label).show(alarm or deployment)
        self.query_one("#phase", Label).show(render.phase_text(state))
        self.query_one("#t-label", Label).show("UTC" if state.t0 is None else "T")
        self.tick(state, now)

    def start_clock(self, state: State, now: float) -> None:
        """Show the time from now on (called once the first frame is drawn)."""
        self.clock_started = True
        self.tick(state, now)

    def tick(self, state: State, now: float) -> None:
        """Update the clock and the countdown (once a second), once the clock has started."""
        if not self.clock_started:
            return
        self.query_one("#t-label", Label).show("UTC" if state.t0 is None else "T")
        timer = self.query_one("#timer", Digits)
        text = render.clock_text(state, now)
        if timer.value != text:
            timer.update(text)
        self.query_one("#countdown", Label).show(render.countdown_text(state, now))


def deployment_text(resolved: ResolvedProfile) -> str:
    """The deployment's name, service and owner with their references substituted (as the
    panes show the profile), a secret among them redacted as everywhere."""
    d = resolved.profile.deployment
    return Redactor(resolved.secrets).redact(f"{d.name} · {d.service} · {d.owner}")
