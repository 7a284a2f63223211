"""The record's one on-disk form: what ``encode_record`` writes and what ``parse_line`` accepts.

Each way a line can fail to be a record has its own reason (from ``parse_line``, or from
``hash_mismatch`` once the hash over the line's bytes does not match); the tests pin every one
of them, in memory, without a journal file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from cockpit.journal.records import (
    GENESIS_PREV,
    Actor,
    BadLine,
    Record,
    canonical_json,
    chain_hash,
    encode_record,
    hash_mismatch,
    is_hex_digest,
    line_hash,
    parse_line,
)

ACTOR = Actor(role="operator", user="ada", tty="/dev/pts/1")
WALL = 1_800_000_000.5


def encode(**changes: Any) -> tuple[Record, bytes]:
    fields: dict[str, Any] = {
        "seq": 1,
        "wall": WALL,
        "t_plus": 2.5,
        "actor": ACTOR,
        "kind": "step.started",
        "body": {"argv": ["./deploy", "v2"], "é": "ü"},
        "prev": GENESIS_PREV,
    }
    fields.update(changes)
    return encode_record(**fields)


# ---------------------------------------------------------------- writing


def test_the_line_is_the_canonical_json_of_the_record_with_its_hash() -> None:
    record, line = encode()
    assert line == (canonical_json(record.to_json()) + "\n").encode("utf-8")
    assert line.count(b"\n") == 1
    obj = json.loads(line)
    digest = obj.pop("hash")
    payload = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == hashlib.sha256((GENESIS_PREV + payload).encode()).hexdigest()
    assert digest == record.hash == chain_hash(GENESIS_PREV, payload)


def test_a_body_with_the_kind_key_text_in_a_string_keeps_the_hash_in_place() -> None:
    record, line = encode(body={"note": ',"kind":"x"', "z": ',"kind":'})
    assert parse_line(line.rstrip(b"\n")) == record
    assert line_hash(line.rstrip(b"\n"), GENESIS_PREV) == record.hash


def test_the_record_in_memory_is_the_record_read_back() -> None:
    record, line = encode(wall=1_800_000_000, t_plus=3, body={"pair": (1, 2)})
    assert (record.wall, record.t_plus) == (1_800_000_000.0, 3.0)
    assert isinstance(record.wall, float) and isinstance(record.t_plus, float)
    assert record.body == {"pair": [1, 2]}
    parsed = parse_line(line.rstrip(b"\n"))
    assert parsed == record
    assert encode(t_plus=None)[0].t_plus is None


def test_the_record_as_json() -> None:
    record, _ = encode()
    assert record.to_json() == {
        "seq": 1,
        "wall": WALL,
        "t_plus": 2.5,
        "actor": {"role": "operator", "user": "ada", "tty": "/dev/pts/1"},
        "kind": "step.started",
        "body": {"argv": ["./deploy", "v2"], "é": "ü"},
        "prev": GENESIS_PREV,
        "hash": record.hash,
    }


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"kind": ""}, ValueError, "record kind must be a non-empty string, got ''"),
        ({"kind": 7}, ValueError, "record kind must be a non-empty string, got 7"),
        ({"body": [1]}, TypeError, "record body must be a mapping, got list"),
        ({"body": {1: "x"}}, TypeError, "step.started record: body keys must be strings"),
        ({"wall": float("nan")}, ValueError, "wall and t_plus must be finite"),
        ({"t_plus": float("inf")}, ValueError, "wall and t_plus must be finite"),
        ({"body": {"v": float("nan")}}, ValueError, "body holds NaN or infinity"),
        ({"body": {"v": "\udcff"}}, ValueError, "unpaired surrogate"),
    ],
)
def test_what_cannot_be_written_is_refused(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        encode(**changes)
    assert message in str(caught.value)


def test_canonical_json() -> None:
    assert canonical_json({"b": [1, 2.5], "a": "é"}) == '{"a":"é","b":[1,2.5]}'
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"v": float("inf")})


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0123456789abcdef" * 4, True),
        ("0123456789ABCDEF" * 4, False),
        ("a" * 63, False),
        ("a" * 65, False),
        ("g" * 64, False),
        (b"a" * 64, False),
        (None, False),
    ],
)
def test_is_hex_digest(value: object, ok: bool) -> None:
    assert is_hex_digest(value) is ok


def test_genesis() -> None:
    assert GENESIS_PREV == "0" * 64


# ---------------------------------------------------------------- actors


def test_actor_round_trip() -> None:
    assert Actor.from_json(ACTOR.to_json()) == ACTOR
    assert Actor.from_json({"role": "r", "user": "u", "tty": None}) == Actor("r", "u", None)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (["operator", "ada", None], "exactly role, user, tty (and uid)"),
        ({"role": "r", "user": "u"}, "exactly role, user, tty (and uid)"),
        ({"role": "r", "user": "u", "tty": None, "x": 1}, "exactly role, user, tty (and uid)"),
        ({"role": 1, "user": "u", "tty": None}, "role and user must be strings"),
        ({"role": "r", "user": None, "tty": None}, "role and user must be strings"),
        ({"role": "r", "user": "u", "tty": 3}, "tty must be a string or null"),
    ],
)
def test_a_bad_actor_is_refused(obj: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Actor.from_json(obj)


# ---------------------------------------------------------------- reading


def as_line(change: Callable[[dict[str, Any]], object]) -> bytes:
    """A valid record's line after ``change`` edited its JSON object (written canonically)."""
    _, line = encode()
    obj = json.loads(line)
    change(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def setting(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda obj: obj.__setitem__(key, value)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff{}", "not valid UTF-8"),
        (b'{"seq":', "not valid JSON"),
        (b'{"seq":NaN}', "not valid JSON (NaN is not allowed in a journal)"),
        (b'{"seq":-Infinity}', "-Infinity is not allowed"),
        (b"[1]", "not a JSON object"),
        (as_line(lambda o: o.pop("t_plus")), "(missing ['t_plus'], unexpected [])"),
        (as_line(setting("extra", 1)), "(missing [], unexpected ['extra'])"),
        (as_line(setting("seq", 0)), "seq is not a positive integer"),
        (as_line(setting("seq", -3)), "seq is not a positive integer"),
        (as_line(setting("seq", True)), "seq is not a positive integer"),
        (as_line(setting("seq", 1.0)), "seq is not a positive integer"),
        (as_line(setting("wall", "now")), "wall or t_plus is not a number"),
        (as_line(setting("wall", None)), "wall or t_plus is not a number"),
        (as_line(setting("t_plus", "2")), "wall or t_plus is not a number"),
        (as_line(setting("t_plus", False)), "wall or t_plus is not a number"),
        (as_line(setting("kind", 3)), "kind is not a string or body is not an object"),
        (as_line(setting("body", [])), "kind is not a string or body is not an object"),
        (as_line(setting("prev", "0" * 63)), "prev or hash is not a sha256 hex digest"),
        (as_line(setting("hash", "F" * 64)), "prev or hash is not a sha256 hex digest"),
        (as_line(setting("actor", {"role": "r"})), "exactly role, user, tty (and uid)"),
        (
            as_line(setting("wall", 1)).replace(b'"wall":1', b'"wall":1e999'),
            "holds a number too large for JSON",
        ),
        (as_line(lambda o: None).replace(b',"kind"', b', "kind"'), "not in canonical form"),
        (
            as_line(setting("body", {"argv": ["x"]})),  # canonical, wrong hash: the chain finds it
            "hash does not match the content (the record was changed after writing)",
        ),
    ],
)
def test_each_bad_line_has_its_reason(line: bytes, reason: str) -> None:
    assert reason in why_not_a_record(line)


def why_not_a_record(line: bytes) -> str:
    """What a reader says of a line: ``parse_line``'s reason, or, for one that parses, why it
    does not match its hash (asked only then: the bytes as read are hashed, not re-encoded)."""
    try:
        record = parse_line(line)
        assert line_hash(line, record.prev) != record.hash
        return hash_mismatch(line, record)
    except BadLine as exc:
        return str(exc)


def test_a_line_parses_into_its_record_and_its_hash_covers_its_bytes_without_the_hash() -> None:
    record, line = encode(t_plus=None)
    parsed = parse_line(line.rstrip(b"\n"))
    assert parsed == record
    payload = canonical_json({k: v for k, v in json.loads(line).items() if k != "hash"})
    assert line_hash(line.rstrip(b"\n"), GENESIS_PREV) == record.hash
    assert chain_hash(GENESIS_PREV, payload) == record.hash


def test_whole_number_times_are_numbers() -> None:
    line = as_line(lambda o: o.update(wall=1_800_000_000, t_plus=3))
    record = parse_line(line)
    assert (record.wall, record.t_plus) == (1_800_000_000, 3)


def test_records_and_actors_are_immutable_values() -> None:
    record, _ = encode()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.seq = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ACTOR.user = "mallory"  # type: ignore[misc]
    assert {ACTOR: 1}[Actor("operator", "ada", "/dev/pts/1")] == 1
