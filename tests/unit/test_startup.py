"""The collector pause of the start-up: on again afterwards, and only if we turned it off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cockpit import startup


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def test_pause_then_resume_turns_the_collector_back_on_with_start_up_frozen() -> None:
    gc.enable()
    startup.pause()
    assert not gc.isenabled()
    made_at_start_up = [object()]
    startup.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert made_at_start_up
    startup.resume()  # a second resume does nothing
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off() -> None:
    gc.disable()
    startup.pause()
    startup.resume()
    assert not gc.isenabled()


def test_paused_block() -> None:
    gc.enable()
    with startup.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
