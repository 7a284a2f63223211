"""The one injected clock: monotonic time for durations, wall time for display and records."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Where every part of the cockpit reads the time."""

    def wall(self) -> float:
        """Seconds since the epoch (UTC), for records and display."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards, for durations."""
        ...


class SystemClock:
    """The real clock."""

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()


class FakeClock:
    """A clock that moves only when a test tells it to."""

    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self._wall = wall
        self._mono = 1000.0

    def wall(self) -> float:
        """The fake wall time."""
        return self._wall

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._wall += seconds
        self._mono += seconds
