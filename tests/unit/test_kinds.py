"""One name for one kind: every kind of record is a member of ``Kind``, spelled nowhere else,
and every kind has its words (a timeline sentence in the report; an announcement, or a
stated reason why the crew does not hear of it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cockpit
from cockpit.announce import ANNOUNCED_KINDS
from cockpit.engine import state as engine_state
from cockpit.engine.kinds import HIGH_RATE_KINDS, NOT_EVENTS, Kind
from cockpit.evidence.model import load_session
from cockpit.evidence.report import describe
from cockpit.journal import Actor, Record, read_journal
from tests.unit.test_evidence import rolled_back_session

SRC = Path(cockpit.__file__).resolve().parent

NOT_IN_THE_TIMELINE = {Kind.SAMPLES, Kind.SAMPLE, Kind.CHECK_RESULT}
"""In the health log and the readiness checklist instead."""
NOT_ANNOUNCED = {
    Kind.SESSION_RESUMED: "the resumed cockpit's own screen shows it",
    Kind.STEP_VERIFIED: "the Monitor's own key; the screen shows it at once",
    Kind.SAMPLE: "many a second",
    Kind.ROLLBACK_SNAPSHOT: "plumbing of the rollback",
    Kind.SAMPLES: "a journal record, not an event",
    Kind.REFUSED: "said on the screen of whoever pressed the key",
    Kind.NOTE: "a note is already something said",
    Kind.ATTACH_LEFT: "a terminal that leaves changes nothing; the screens show who is joined",
    Kind.ATTACH_REFUSED: "not an event; the session's screen names whom it refused, at once",
    Kind.METRIC_HISTORY: "drawn in the sparklines; a failure is said on the metric's row",
}


def test_every_kind_the_fold_handles_is_a_kind_and_every_event_kind_is_handled() -> None:
    handled = set(engine_state._HANDLERS)
    assert handled <= set(Kind)
    assert set(Kind) - handled == set(NOT_EVENTS)
    assert set(Kind) >= HIGH_RATE_KINDS


def test_every_kind_has_a_sentence_in_the_report(tmp_path: Path) -> None:
    journal = tmp_path / "sessions" / "20270115T080000Z-demo-web-abcd.jsonl"
    journal.parent.mkdir()
    journal.with_suffix("").mkdir()
    rolled_back_session(journal)
    session = load_session(read_journal(journal))
    actor = Actor("cockpit", "cockpit", None)
    for kind in Kind:
        record = Record(1, 0.0, None, actor, kind, {}, "0" * 64, "0" * 64)
        text = describe(session, record)
        if kind in NOT_IN_THE_TIMELINE:
            assert text is None
            continue
        assert text, kind
        assert not text.startswith(f"{kind}:"), f"{kind} has no sentence of its own: {text}"


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_is_announced_or_says_why_not(kind: Kind) -> None:
    assert (kind in ANNOUNCED_KINDS) != (kind in NOT_ANNOUNCED), kind


def test_no_module_spells_a_kind_as_a_string() -> None:
    # A string such as "rollback.started" outside kinds.py would be a second name for a kind.
    dotted = {k.value for k in Kind if "." in k.value}
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "kinds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in dotted:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    assert offenders == []
