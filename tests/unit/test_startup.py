"""The collector pause of the start-up: on again afterwards, and only if we turned it off."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator
from pathlib import Path

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


@pytest.mark.parametrize("command", ["watch", "replay"])
def test_watch_and_replay_read_the_journal_with_the_collector_paused(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `run --resume` does: a day of journal is millions of objects that live on, and the
    collector scanned them in vain (benchmarks/journal_long.py). On again after the command."""
    from cockpit.journal import JournalError
    from cockpit.replay import ReplaySession
    from cockpit.ui import launch
    from cockpit.watch import WatchedSession

    journal = tmp_path / "session.jsonl"
    journal.write_text("")
    seen: list[bool] = []

    def opened(cls: object, path: object, /, **options: object) -> None:
        seen.append(gc.isenabled())
        raise JournalError("not a journal")

    monkeypatch.setattr(launch, "_terminal_ok", lambda: True)
    monkeypatch.setattr(WatchedSession, "watch", classmethod(opened))
    monkeypatch.setattr(ReplaySession, "open", classmethod(opened))
    gc.enable()
    args = argparse.Namespace(journal=str(journal), sessions_dir=None, prometheus=False)
    handler = launch.watch_command if command == "watch" else launch.replay_command
    assert handler(args) == 2
    assert seen == [False]
    assert gc.isenabled()
