"""The Textual application: a thin shell around the cockpit screen."""

from __future__ import annotations

from textual.app import App
from textual.screen import ModalScreen

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

    async def action_quit(self) -> None:
        """ctrl+q: the same question as q while execution is under way, never a silent exit."""
        screen = self.screen
        if isinstance(screen, CockpitScreen):
            screen.action_quit()
        elif isinstance(screen, ModalScreen):
            return  # a dialog is open: answer it first
        else:
            self.exit()

    async def on_unmount(self) -> None:
        # Still inside the app's event loop: stop the session's own tasks here.
        await self.session.stop()


def make_app(session: Session, *, clock: Clock | None = None, run_loops: bool = True) -> CockpitApp:
    """The app factory used by the CLI, the tests and the screenshot script."""
    return CockpitApp(session, clock=clock or SystemClock(), run_loops=run_loops)
