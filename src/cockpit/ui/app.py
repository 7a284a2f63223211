"""The Textual application: a thin shell around the cockpit screen."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from cockpit.clock import Clock, SystemClock
from cockpit.session import Session
from cockpit.ui.screens.cockpit import CockpitScreen
from cockpit.ui.screens.dialogs import ConfirmDialog, ReasonDialog


class CockpitApp(App[None]):
    """The deploy cockpit."""

    CSS_PATH = "cockpit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # R types an "R" inside a dialog's text field; ctrl+r rolls back from anywhere.
        Binding("ctrl+r", "rollback_now", "ROLL BACK NOW", priority=True, show=False),
    ]
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
        # The terminal went away (SSH dropped, tmux killed) or someone asked us to stop: exit
        # cleanly so the evidence is written. Started processes keep running regardless.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.exit)

    async def action_rollback_now(self) -> None:
        """ctrl+r: close whatever dialog is open and roll back now."""
        cockpit = next((s for s in self.screen_stack if isinstance(s, CockpitScreen)), None)
        if cockpit is None:
            return
        if isinstance(self.screen, ReasonDialog):
            self.screen.dismiss(None)
        elif isinstance(self.screen, ConfirmDialog):
            self.screen.dismiss(False)
        await cockpit.action_rollback()

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
