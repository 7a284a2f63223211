"""The first-frame cache (cockpit.first_frame): its key, its files, and what it will write."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cockpit import first_frame as ff
from cockpit.profile.models import REFERENCE

PROFILE = b'version = 1\n[x]\nurl = "http://${var:HOST}/"\ntoken = "${env:TOKEN}"\n'
FRAME = "\x1b]22;default\x07\x1b[1;1H\x1b[38;5;131;48;5;233m\u250f\x1b[0m\n\x1b[2;3HBRIEFING"


def key(**changes: Any) -> str | None:
    args: dict[str, Any] = {
        "argv": ["run", "p.toml"],
        "environ": {"HOST": "a", "TOKEN": "t", "TERM": "xterm-256color", "UNRELATED": "1"},
        "size": (120, 40),
        "cwd": "/w",
        "textual": "8.2.8",
        "uid": 1000,
    }
    args.update(changes)
    return ff.frame_key(args.pop("profile", PROFILE), **args)


def test_the_key_covers_what_the_frame_is_drawn_from() -> None:
    base = key()
    assert base is not None and base == key()
    env = {"HOST": "a", "TOKEN": "t", "TERM": "xterm-256color", "UNRELATED": "1"}
    differing = [
        key(profile=PROFILE + b"# a comment\n"),
        key(environ={**env, "HOST": "b"}),  # a referenced variable
        key(environ={**env, "TOKEN": "u"}),
        key(environ={k: v for k, v in env.items() if k != "HOST"}),
        key(environ={**env, "TERM": "xterm"}),
        key(environ={**env, "NO_COLOR": "1"}),
        key(environ={**env, "TEXTUAL_ANIMATIONS": "none"}),
        key(size=(121, 40)),
        key(argv=["run", "p.toml", "--take-over"]),
        key(cwd="/elsewhere"),
        key(textual="8.2.9"),
        key(uid=1001),
    ]
    assert base not in differing
    assert len(set(differing)) == len(differing)
    assert key(environ={**env, "UNRELATED": "2"}) == base  # what the profile does not name


def test_a_reference_written_with_a_toml_escape_is_still_in_the_key() -> None:
    escaped = b'version = 1\nurl = "\\u0024{var:HOST}"\n'
    env = {"HOST": "a"}
    assert key(profile=escaped, environ=env) != key(profile=escaped, environ={"HOST": "b"})


def test_a_profile_that_is_not_toml_has_no_key() -> None:
    assert key(profile=b"version = = 1") is None
    assert key(profile=b"\xff\xfe") is None


def test_the_reference_pattern_is_the_profiles() -> None:
    assert REFERENCE.pattern.startswith(ff.REFERENCE.pattern)


def test_an_entry_is_written_owner_only_and_read_back(tmp_path: Path) -> None:
    directory = tmp_path / "cache" / "first-frame"
    ff.write_entry(directory, "k1", ff.Entry(FRAME, confirmed=False))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "k1").stat().st_mode) == 0o600
    assert ff.read_entry(directory, "k1") == ff.Entry(FRAME, confirmed=False)
    ff.write_entry(directory, "k1", ff.Entry(FRAME, confirmed=True))
    assert ff.read_entry(directory, "k1") == ff.Entry(FRAME, confirmed=True)
    assert ff.read_entry(directory, "k2") is None
    assert [p.name for p in directory.iterdir()] == ["k1"]  # no temporary file left


def _forge(directory: Path, key: str, body: bytes, state: str = "confirmed") -> Path:
    """A file that passes every check but the one under test."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256(key.encode() + body).hexdigest()
    path = directory / key
    path.write_bytes(f"{ff.MAGIC} {state} {key} {digest}\n".encode() + body)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    "body",
    [
        b"\x1b]52;c;cHduZWQ=\x07",  # writes the clipboard
        b"\x1b]2;pwned\x07",  # retitles the window
        b"\x1b[6n",  # asks the terminal to answer (typed into the next program)
        b"\x1bP+q544e\x1b\\",  # DCS
        b"\x1b[?1049l\x1b[2J",  # leaves the alternate screen
        b"\x9b6n",  # C1 CSI
        b"text\x07bell",
        b"\xff not utf-8",
    ],
)
def test_a_cached_frame_that_does_more_than_draw_is_ignored(tmp_path: Path, body: bytes) -> None:
    _forge(tmp_path, "k", body)
    assert ff.read_entry(tmp_path, "k") is None
    _forge(tmp_path, "k", FRAME.encode())
    assert ff.read_entry(tmp_path, "k") == ff.Entry(FRAME, confirmed=True)  # the control


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    path = _forge(tmp_path, "k", FRAME.encode())
    assert ff.read_entry(tmp_path, "k") is not None
    path.write_bytes(path.read_bytes()[:-3])  # cut short: the hash no longer matches
    assert ff.read_entry(tmp_path, "k") is None

    path = _forge(tmp_path, "k", FRAME.encode())
    path.chmod(0o644)  # readable by others: not ours alone
    assert ff.read_entry(tmp_path, "k") is None

    path = _forge(tmp_path, "k", FRAME.encode())
    tmp_path.chmod(0o755)
    assert ff.read_entry(tmp_path, "k") is None
    tmp_path.chmod(0o700)

    other = _forge(tmp_path, "other", FRAME.encode())
    path.unlink()
    path.symlink_to(other)  # the right content, through a link
    assert ff.read_entry(tmp_path, "k") is None

    path.unlink()
    _forge(tmp_path, "other", FRAME.encode())
    os.rename(tmp_path / "other", path)  # another key's file under this name
    assert ff.read_entry(tmp_path, "k") is None

    path.unlink()
    path.write_bytes(b"")
    path.chmod(0o600)
    assert ff.read_entry(tmp_path, "k") is None


def test_the_cache_keeps_a_bounded_number_of_frames(tmp_path: Path) -> None:
    for index in range(ff.MAX_ENTRIES + 5):
        ff.write_entry(tmp_path, f"k{index:02d}", ff.Entry(FRAME, confirmed=False))
        os.utime(tmp_path / f"k{index:02d}", (1000 + index, 1000 + index))
    ff.write_entry(tmp_path, "last", ff.Entry(FRAME, confirmed=False))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == ff.MAX_ENTRIES
    assert "last" in names and "k00" not in names


def test_only_a_frame_drawn_twice_in_a_row_is_confirmed(tmp_path: Path) -> None:
    def start(frame: str) -> ff.Entry | None:
        ff._This.start = ff._Start(tmp_path, "k", ff.read_entry(tmp_path, "k"))
        ff.drawn(frame)
        assert getattr(ff._This, "start") is None  # noqa: B009 (mypy narrowed it)
        return ff.read_entry(tmp_path, "k")

    assert start(FRAME) == ff.Entry(FRAME, confirmed=False)
    assert start(FRAME) == ff.Entry(FRAME, confirmed=True)
    assert start(FRAME) == ff.Entry(FRAME, confirmed=True)
    changed = FRAME.replace("BRIEFING", "CHECKLIST")
    assert start(changed) == ff.Entry(changed, confirmed=False)  # never shown as it was
    assert start("\x1b]52;c;eA==\x07") == ff.Entry(changed, confirmed=False)  # not kept


def test_the_synchronized_output_marks_are_not_part_of_the_frame() -> None:
    assert ff.frame_of("\x1b[?2026h" + FRAME + "\x1b[?2026l") == FRAME


class _Terminal:
    """begin()'s view of a terminal, without one: what it would have written."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.shown: list[str] = []
        monkeypatch.setattr("cockpit.first_frame.os.isatty", lambda fd: True)
        monkeypatch.setattr(
            "cockpit.first_frame.os.get_terminal_size", lambda fd: os.terminal_size((120, 40))
        )
        monkeypatch.setattr(ff, "_show", lambda start, frame: self.shown.append(frame))
        monkeypatch.setattr(ff._This, "start", None)


def _key_for(profile: Path, environ: dict[str, str]) -> str:
    k = ff.frame_key(
        profile.read_bytes(),
        argv=["run", str(profile)],
        environ=environ,
        size=(120, 40),
        cwd=os.getcwd(),
        textual=ff._textual_version(),
        uid=os.geteuid(),
    )
    assert k is not None
    return k


def test_a_start_shows_a_confirmed_frame_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal(monkeypatch)
    profile = tmp_path / "p.toml"
    profile.write_bytes(PROFILE)
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOST": "a", "TOKEN": "t"}
    directory = ff.cache_directory(environ)
    assert directory == tmp_path / "xdg" / "cockpit" / "first-frame"
    k = _key_for(profile, environ)

    assert not ff.begin(str(profile), ["run", str(profile)], environ=environ)  # nothing cached
    _forge(directory, k, FRAME.encode(), state="new")
    assert not ff.begin(str(profile), ["run", str(profile)], environ=environ)  # drawn once only
    _forge(directory, k, b"\x1b]52;c;cHduZWQ=\x07")
    assert not ff.begin(str(profile), ["run", str(profile)], environ=environ)  # hostile
    assert terminal.shown == []

    _forge(directory, k, FRAME.encode())
    ff.begin(str(profile), ["run", str(profile)], environ=environ)
    assert terminal.shown == [FRAME]
    assert not ff.begin(str(profile), ["run", str(profile)], environ={**environ, "HOST": "b"})
    assert terminal.shown == [FRAME]


def test_without_a_terminal_nothing_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "p.toml"
    profile.write_bytes(PROFILE)
    monkeypatch.setattr("cockpit.first_frame.os.isatty", lambda fd: False)
    monkeypatch.setattr(ff._This, "start", None)
    assert not ff.begin(str(profile), ["run", str(profile)], environ={})
    assert ff._This.start is None
    assert not ff.shown()
    ff.leave()  # nothing to leave: a no-op
    assert not ff.hand_over()
