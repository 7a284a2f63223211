"""Whatever a profile file holds, loading it gives a Profile or a clean ProfileError.

Three sources of input: TOML documents built from generated tables (keys drawn from the real
field names plus random ones), the demo profile with values swapped, removed or added at random
places, and the demo profile's text and bytes mutated at random.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cockpit.profile import Profile, ProfileError, load_profile, models, parse_profile

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "profiles" / "demo.toml").read_text(encoding="utf-8")
DEMO_DATA = tomllib.loads(DEMO_TEXT)

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MODELS = [
    v
    for v in vars(models).values()
    if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == models.__name__
]
FIELD_NAMES = sorted({name for model in MODELS for name in model.model_fields})
SOURCE_KINDS = ["system", "http", "prometheus", "command", "file_age", "artifact", "tcp"]

# Strings that mean something to the loader: durations, references, kinds, ids, roles.
MEANINGFUL = [
    "5m", "90s", "1h30m", "250ms", "-5m", "5 minutes", "", " ", "${env:TOKEN}",
    "${var:URL:-http://x}", "${nope}", "${env:}", "production", "staging", "operator",
    "monitor", "approver", "rollback", "capacity", "automatic", "prompt", "hold", "fail",
    "error-rate", "p99", "[", "\"", "\n", "\x00", "é", *SOURCE_KINDS, "env_catalog", "ftp",
]  # fmt: skip

keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=8))
scalars = st.one_of(
    st.sampled_from(MEANINGFUL),
    st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=30,
)
documents = st.dictionaries(keys, values, max_size=8)


def outcome(load: Callable[[], Profile]) -> Profile | ProfileError:
    """The profile, or the ProfileError; any other exception escapes and fails the test."""
    try:
        return load()
    except ProfileError as exc:
        return exc


def assert_profile_or_clean_error(text: str) -> None:
    """Parse the text; anything but a Profile or a well-formed ProfileError fails the test."""
    result = outcome(lambda: parse_profile(text, "fuzz.toml"))
    if isinstance(result, Profile):
        return
    assert result.problems
    # Bounded by splitlines(), not by "\n": the loader's line scan also breaks lines at
    # U+2028, \x85 and the like (see the line-separator-in-string case file).
    lines = len(text.splitlines()) + 1
    for problem in result.problems:
        assert problem.message.strip()
        assert problem.line is None or 1 <= problem.line <= lines
        assert str(problem).startswith("fuzz.toml")


def _set(data: Any, path: list[int], value: Any, mode: int) -> Any:
    """Return a copy of ``data`` with one place changed: replaced, removed or a key added."""
    if isinstance(data, dict) and data:
        keys_ = sorted(data)
        key = keys_[path[0] % len(keys_)] if path else None
        out = dict(data)
        if key is None or len(path) == 1:
            if mode == 0 and key is not None:
                out[key] = value
            elif mode == 1 and key is not None:
                del out[key]
            else:
                out[FIELD_NAMES[(path[0] if path else 0) % len(FIELD_NAMES)]] = value
            return out
        out[key] = _set(data[key], path[1:], value, mode)
        return out
    if isinstance(data, list) and data:
        i = path[0] % len(data) if path else 0
        out_list = list(data)
        if len(path) <= 1:
            if mode == 1:
                del out_list[i]
            else:
                out_list[i] = value
            return out_list
        out_list[i] = _set(data[i], path[1:], value, mode)
        return out_list
    return value


@FUZZ
@given(documents)
def test_generated_documents(document: dict[str, Any]) -> None:
    assert_profile_or_clean_error(tomli_w.dumps(document))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5),
            values,
            st.integers(min_value=0, max_value=2),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_demo_with_values_changed(changes: list[tuple[list[int], Any, int]]) -> None:
    data: Any = DEMO_DATA
    for path, value, mode in changes:
        data = _set(data, path, value, mode)
    assert_profile_or_clean_error(tomli_w.dumps(data))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(DEMO_TEXT)),
            st.integers(min_value=0, max_value=8),
            st.text(max_size=6) | st.sampled_from(["[", "]", '"', "=", "\n", "#", "[[", "'''"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_demo_text_mutated(edits: list[tuple[int, int, str]]) -> None:
    text = DEMO_TEXT
    for position, cut, insert in edits:
        at = min(position, len(text))
        text = text[:at] + insert + text[at + cut :]
    assert_profile_or_clean_error(text)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file the byte-mutation test rewrites for every example."""
    return tmp_path_factory.mktemp("fuzz") / "fuzz.toml"


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(DEMO_TEXT)), st.binary(max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_demo_bytes_mutated(scratch: Path, edits: list[tuple[int, bytes]]) -> None:
    raw = DEMO_TEXT.encode()
    for at, replacement in edits:
        raw = raw[:at] + replacement + raw[at + len(replacement) :]
    scratch.write_bytes(raw)
    result = outcome(lambda: load_profile(scratch))
    if isinstance(result, ProfileError):
        assert result.problems
        for problem in result.problems:
            assert problem.message.strip()
            assert problem.path == str(scratch)


def test_the_generators_reach_real_keys() -> None:
    # Guards the strategy: if the models lose their fields the fuzzing becomes shallow.
    assert {"deployment", "briefing", "stages", "rollback", "threshold", "kind"} <= set(FIELD_NAMES)
    assert all(issubclass(m, BaseModel) for m in MODELS)
    assert parse_profile(tomli_w.dumps(DEMO_DATA)) == parse_profile(DEMO_TEXT)
