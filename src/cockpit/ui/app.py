"""The Textual application: a thin shell around the cockpit screen."""

from __future__ import annotations

from textual.app import App

from cockpit.clock import Clock, SystemClock
from cockpit.session import Session
from cockpit.ui.screens.cockpit import CockpitScreen


class CockpitApp(App[None]):
    """The deploy cockpit."""

    CSS_PATH = "cockpit.tcss"
    TITLE = "cockpit"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self, session: Session, *, clock: Clock | None = None, run_loops: bool = True
    ) -> None:
        super().__init__()
        self.session = session
        self.clock = clock or session.clock
        self.run_loops = run_loops

    def on_mount(self) -> None:
        self.push_screen(CockpitScreen(self.session, self.clock, run_loops=self.run_loops))

    async def on_unmount(self) -> None:
        # Still inside the app's event loop: stop the session's own tasks here.
        await self.session.stop()


def make_app(session: Session, *, clock: Clock | None = None, run_loops: bool = True) -> CockpitApp:
    """The app factory used by the CLI, the tests and the screenshot script."""
    return CockpitApp(session, clock=clock or SystemClock(), run_loops=run_loops)
