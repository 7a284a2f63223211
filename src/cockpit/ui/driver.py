"""Textual's Linux driver with an input thread that stops at once and sleeps when idle.

Textual 8.2.8's input thread waits in ``select`` with a 0.1 s timeout and sees that input was
disabled only when that wait ends; then it selects once more, on no file at all, which just
sleeps another 0.1 s. Quitting waited for both: about 0.2 s of every exit (measured with
``benchmarks/ui_first_paint.py``). Here a pipe wakes the thread as soon as input is disabled,
and the last pass flushes the parser without sleeping. The same pipe lets the thread sleep
until input arrives instead of waking ten times a second. Everything else is Textual's.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder

from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from cockpit import first_frame

_TERMINAL = "terminal"
_WAKE = "wake"


class PromptLinuxDriver(LinuxDriver):
    """A LinuxDriver whose input thread ends as soon as input is disabled."""

    _wake_read = -1
    _wake_write = -1
    _capture: list[str] | None = None
    _captured = False
    _alternate_on = False

    def start_application_mode(self) -> None:
        # One pipe per input thread; closed only after that thread has been joined, so a
        # late wake-up can never write into a file that reused the number.
        if self._wake_read < 0:
            self._wake_read, self._wake_write = os.pipe()
        # A cached first frame may be on the screen (cockpit.first_frame): the terminal's
        # modes go back to what they were before Textual keeps them, and the alternate screen
        # is not entered twice (some terminals clear it: a blank flash).
        self._alternate_on = first_frame.hand_over()
        super().start_application_mode()  # type: ignore[no-untyped-call]
        self._alternate_on = False
        if not self._captured:  # the first start only: what follows is the first frame
            self._captured = True
            self._capture = []

    def write(self, data: str) -> None:
        if self._alternate_on and data == "\x1b[?1049h":
            self._alternate_on = False
            return
        if self._capture is not None:
            self._capture.append(data)
        super().write(data)

    def end_capture(self) -> str:
        """What was written since the first start (the first frame, when called as it is
        drawn); stops capturing."""
        writes, self._capture = self._capture or [], None
        return "".join(writes)

    def disable_input(self) -> None:
        if not self.exit_event.is_set() and self._wake_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"!")
        super().disable_input()  # joins the input thread
        if self._key_thread is None or not self._key_thread.is_alive():
            for fd in (self._wake_read, self._wake_write):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._wake_read = self._wake_write = -1

    def run_input_thread(self) -> None:
        """Textual's loop (8.2.8), plus the wake-up pipe and without the final sleep."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ, _TERMINAL)
        if self._wake_read >= 0:
            selector.register(self._wake_read, selectors.EVENT_READ, _WAKE)

        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick

        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]],
        ) -> None:
            for _last, (_selector_key, mask) in loop_last(selector_events):
                if mask & EVENT_READ:
                    unicode_data = decode(read(fileno, 1024 * 4))
                    if not unicode_data:
                        # This can occur if the stdin is piped
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        # Textual wakes every 0.1 s to look at exit_event and the parser's escape timeout. The
        # pipe wakes this loop for the exit, so it sleeps until input arrives unless a partial
        # escape sequence is waiting for its timeout: ten wake-ups a second fewer when idle.
        wake = self._wake_read >= 0
        try:
            while not self.exit_event.is_set():
                waiting = parser._timeout_time is not None
                ready = selector.select(0.1 if waiting or not wake else None)
                woken = any(key.data == _WAKE for key, _ in ready)
                process_selector_events([(k, m) for k, m in ready if k.data == _TERMINAL])
                if woken:
                    break
            # Textual selects once more here, after unregistering the terminal: a select on
            # nothing that sleeps 0.1 s. The parser's pending events are all it yields.
            for event in tick():
                self.process_message(event)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
