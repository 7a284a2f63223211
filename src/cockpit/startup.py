"""Start-up without the cyclic garbage collector.

Starting the cockpit imports Textual and builds the profile models: about half a million
objects that live as long as the process. The collector ran full passes over them during
start-up and found almost nothing (849 unreachable objects), which cost 0.05–0.09 s of
every first paint (measured with ``benchmarks/ui_first_paint.py``). So the ``cockpit``
command pauses the collector while it starts; :func:`resume` then freezes what is alive
(never scanned again; reference counting frees it as always) and turns the collector back
on. Only a pause made here is resumed: a collector someone else turned off stays off.

``run --resume``, ``watch`` and ``replay`` keep it paused while they read the journal, until
the first frame: the fold (and replay's records) are objects that live on, and the collector
scanned them in vain. Replaying 24 hours of 16 metrics at 1 Hz made 14 full collections that
freed nothing: 15.3 s with the collector on, 7.9–10.5 s with it off, on a loaded machine
(``benchmarks/journal_long.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused_here: set[str] = set()


def pause() -> None:
    """Turn the collector off for the start-up (a no-op if it is already off)."""
    if gc.isenabled():
        gc.disable()
        _paused_here.add("gc")


def resume() -> None:
    """Freeze what start-up made and turn the collector back on, if :func:`pause` did."""
    if "gc" in _paused_here:
        _paused_here.discard("gc")
        gc.freeze()
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector paused for the block (imports), resumed after it."""
    pause()
    try:
        yield
    finally:
        resume()
