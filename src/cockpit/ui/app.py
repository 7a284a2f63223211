"""The Textual application: a thin shell around the cockpit screen."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import ModalScreen

from cockpit import first_frame, startup
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
        self,
        session: Session,
        *,
        clock: Clock | None = None,
        run_loops: bool = True,
        services: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        super().__init__()
        self.session = session
        self.services = list(services)
        """Started with the screen's loops (the attach socket the crew joins through)."""
        self.clock = clock or session.clock
        self.run_loops = run_loops
        self._stopping: asyncio.Task[None] | None = None
        self._suspended = False
        self.ready = False
        """Whether the first frame has been drawn (Textual's Ready event)."""

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver; on Linux one whose input thread does not delay the quit."""
        driver = super().get_driver_class()
        if (
            f"{driver.__module__}.{driver.__qualname__}"
            == "textual.drivers.linux_driver.LinuxDriver"
            and _textual_version() == PROMPT_DRIVER_TEXTUAL
        ):
            from cockpit.ui.driver import PromptLinuxDriver

            return PromptLinuxDriver
        # This driver cannot take over a cached first frame: the terminal's modes go back now,
        # before it keeps them (cockpit.first_frame).
        first_frame.hand_over()
        return driver

    def get_default_screen(self) -> CockpitScreen:
        """The cockpit screen is the first screen: no empty default screen is composed,
        laid out and drawn before it (about 0.04 s of the first paint, measured)."""
        return CockpitScreen(self.session, self.clock, run_loops=self.run_loops)

    def on_mount(self) -> None:
        # Every signal is handled on the event loop, never inside a Python signal handler.
        # Textual's own SIGCONT handler restarts application mode from inside the handler: a
        # hang-up (the kernel sends SIGHUP and SIGCONT together) could interrupt the main thread
        # in the middle of a terminal write and deadlock it on the writer's queue, and each
        # plain SIGCONT started one more input thread.
        loop = asyncio.get_running_loop()
        handlers = {
            signal.SIGHUP: self._stop_for_signal,
            signal.SIGTERM: self._stop_for_signal,
            signal.SIGTSTP: self._suspend_for_signal,
            signal.SIGCONT: self._continue_after_signal,
        }
        for signum, handler in handlers.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, handler)

    def on_ready(self) -> None:
        """The first frame is drawn: start the screen's loops after it reaches the terminal.

        Textual draws the first frame inside a batch and writes it only after the app is
        ready; loops started earlier (importing the probes, starting the check processes)
        delayed the first frame on the terminal by about 0.1 s.
        """
        self.ready = True
        startup.resume()
        if self.run_loops:  # an R on this first frame then finds its supervisor started
            self.session.warm_rollback()
        end_capture = getattr(self._driver, "end_capture", None)
        if end_capture is not None:  # kept for the next start, once this frame is out
            self.call_after_refresh(first_frame.drawn, end_capture())
        for screen in self.screen_stack:
            if isinstance(screen, CockpitScreen):
                # The clock first, so it is in the very next frame: starting the loops keeps
                # the event loop busy for a while (importing the probes, spawning checks).
                screen.start_clock()
                screen.call_after_refresh(screen.start_loops)
        for service in self.services:
            self.run_worker(service(), group="services", exit_on_error=False)

    def _stop_for_signal(self) -> None:
        """The terminal went away (SSH dropped, tmux killed) or someone asked us to stop.

        The record comes first: the evidence is written before the screen is torn down, and a
        watchdog ends the process if tearing down a dead terminal hangs. Started processes keep
        running under their supervisors either way.
        """
        if self._stopping is not None:
            return
        _exit_hard_after(STOP_GRACE_SECONDS)
        self._stopping = asyncio.get_running_loop().create_task(self._write_record_and_exit())

    async def _write_record_and_exit(self) -> None:
        try:
            if not self.session.evidence:
                await self.session.write_evidence()
        finally:
            self.exit()

    def _suspend_for_signal(self) -> None:
        """SIGTSTP from outside (raw mode turns ctrl+z into a key): give the terminal back."""
        if self._driver is None or self._suspended:
            return
        self._suspended = True
        self._driver.suspend_application_mode()
        os.kill(os.getpid(), signal.SIGSTOP)

    def _continue_after_signal(self) -> None:
        """SIGCONT: take the terminal again only if we gave it away; otherwise repaint."""
        if self._stopping is not None:
            return
        if self._suspended and self._driver is not None:
            self._suspended = False
            self._driver.resume_application_mode()
        self.refresh(repaint=True, layout=True)

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


PROMPT_DRIVER_TEXTUAL = "8.2.8"
"""The Textual release whose input loop ``cockpit.ui.driver`` repeats; any other gets
Textual's own driver (a slower quit, but never a loop out of step with its parser)."""


def _textual_version() -> str:
    """The installed Textual's version, from its dist-info directory's name (0.3 ms, where
    ``importlib.metadata.version`` takes 45 ms of the first paint); "" when not found."""
    import textual

    site = os.path.dirname(os.path.dirname(textual.__file__ or ""))
    with contextlib.suppress(OSError):
        for name in os.listdir(site):
            if name.startswith("textual-") and name.endswith(".dist-info"):
                return name.removeprefix("textual-").removesuffix(".dist-info")
    return ""


STOP_GRACE_SECONDS = 10.0
"""How long a signalled cockpit may take to shut down before it exits hard."""


def _exit_hard_after(seconds: float) -> None:
    """End the process after ``seconds`` unless it has ended by then.

    Only used once a stop was signalled: the journal is fsynced record by record and the
    evidence is written first, so nothing is lost; what this guards against is a teardown
    that blocks on a terminal that no longer exists.
    """

    def watchdog() -> None:
        time.sleep(seconds)
        os._exit(1)

    threading.Thread(target=watchdog, name="cockpit-stop-watchdog", daemon=True).start()


def make_app(
    session: Session,
    *,
    clock: Clock | None = None,
    run_loops: bool = True,
    services: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> CockpitApp:
    """The app factory used by the CLI, the tests and the screenshot script."""
    return CockpitApp(session, clock=clock or SystemClock(), run_loops=run_loops, services=services)
