"""Every bad input gets one clear line on stderr and exit status 2, from every sub-command.

One table: each sub-command that takes a file or a directory, crossed with each way that
argument can be wrong (empty, missing, a directory, a FIFO, /dev/zero, a link loop, too
long, too big, too deep), plus the profiles that only the environment makes wrong and the
standard output that cannot be written. Each case is a real run of the installed
``cockpit`` with a deadline and a memory cap. Each must exit 2 with one line on stderr that
names the input, no traceback, and nothing on stdout.

``run``, ``watch`` and ``demo`` refuse to start without a terminal. They check their
arguments first, so the table runs them without one; ``test_bad_input_with_a_terminal`` runs
the same inputs under a pty, where the screen would otherwise open, to show the check does
not depend on the missing terminal.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cockpit.engine import intents as i
from cockpit.session import Session
from tests.support.cli import Outcome, Stdout, run_cli

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "tests" / "data" / "session" / "quick.toml"
BAD = ROOT / "tests" / "data" / "profiles" / "bad"
DEMO = ROOT / "profiles" / "demo.toml"
D = "@D@"
"""Stands for the directory the inputs are made in (known only when the module runs)."""
SECRET = "s3cr3t-t0ken-value"
LONG = "x" * 5000


@dataclass(frozen=True)
class Case:
    """One command line and what its one line on stderr must say."""

    args: tuple[str, ...]
    says: tuple[str, ...]
    """Fragments of stderr: the input's name first, then why."""
    env: dict[str, str] = field(default_factory=dict)
    stdout: Stdout = "pipe"


# What each bad file argument is, and what the message says about it.
FILE_INPUTS: dict[str, tuple[str, str]] = {
    "missing": (f"{D}/missing", "no such file"),
    "directory": (f"{D}/adir", "is a directory"),
    "fifo": (f"{D}/fifo", "is a FIFO"),
    "dev-zero": ("/dev/zero", "is a character device"),
    "link-loop": (f"{D}/loop", "symbolic link"),
}
PROFILE_ONLY: dict[str, tuple[str, str]] = {
    "over-4mib": (f"{D}/big.toml", "bytes, more than a profile may be"),
    "nested-1000-deep": (f"{D}/nested.toml:1", "nested more than 32 levels deep"),
    "dotted-key-200kb": (f"{D}/dotted.toml:1", "a dotted key with more than 32 parts"),
    "binary": (f"{BAD}/binary-garbage.toml", "binary data"),
}
DIRECTORY_INPUTS: dict[str, tuple[str, str]] = {
    "a-file": (f"{D}/afile", "is a regular file, not a directory"),
    "writable-by-others": (f"{D}/loose", "is writable by group or others"),
    "symbolic-link": (f"{D}/linkdir", "is a symbolic link"),
}
PROFILE_COMMANDS = {"validate": (), "check": (), "run": (), "incident": ()}
JOURNAL_COMMANDS = {"verify": "JOURNAL", "report": "JOURNAL", "watch": "JOURNAL"}


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}

    def add(
        name: str,
        *args: str,
        says: tuple[str, ...],
        env: dict[str, str] | None = None,
        stdout: Stdout = "pipe",
    ) -> None:
        assert name not in cases, name
        cases[name] = Case(tuple(args), says, env or {}, stdout)

    def empty_and_long(prefix: str, args: tuple[str, ...], argument: str, at: int) -> None:
        for label, value, why in (("empty", "", "is empty"), ("too-long", LONG, "is too long")):
            bad = (*args[:at], value, *args[at:])
            add(f"{prefix}-{label}", *bad, says=(f"argument {argument}: the path {why}",))

    for command in PROFILE_COMMANDS:
        empty_and_long(command, (command,), "PROFILE", 1)
        for label, (path, why) in {**FILE_INPUTS, **PROFILE_ONLY}.items():
            add(f"{command}-{label}", command, path.split(":")[0], says=(path, why))
        # Wrong only once the environment is read; `validate` reads none of it.
        if command != "validate":
            add(
                f"{command}-empty-var-in-argv",
                command,
                f"{D}/var-command.toml",
                says=(
                    "stages['production'].steps['deploy'].command",
                    "${var:CMD}",
                    "the command is empty",
                ),
                env={"CMD": ""},
            )
        for case in ("reference-in-a-default", "shell-with-two-arguments", "timeout-zero"):
            path = f"{BAD}/{case}.toml"
            add(f"{command}-{case}", command, path, says=(path,), env={"TOKEN": SECRET})
    add("run-resume-empty", "run", "--resume", "", says=("argument --resume: the path is empty",))
    add("run-resume-too-long", "run", "--resume", LONG, says=("argument --resume: the path is",))
    for label, (path, why) in {**FILE_INPUTS, "root": ("/", "is a directory")}.items():
        add(f"run-resume-{label}", "run", "--resume", path, says=(path, why))
    for command, argument in JOURNAL_COMMANDS.items():
        empty_and_long(command, (command,), argument, 1)
        inputs = {**FILE_INPUTS, "root": ("/", "is a directory")}
        if command != "watch":  # watch reads it only once it has a terminal: see below
            inputs["not-a-journal"] = (f"{D}/notes.txt", "not a cockpit journal")
        for label, (path, why) in inputs.items():
            add(f"{command}-{label}", command, path, says=(path, why))
    directory_commands = {
        "sessions": ("sessions", "--sessions-dir"),
        "run-sessions-dir": ("run", str(QUICK), "--sessions-dir"),
        "incident-sessions-dir": ("incident", str(QUICK), "--sessions-dir"),
        "watch-sessions-dir": ("watch", "--sessions-dir"),
        "demo-sessions-dir": ("demo", "--sessions-dir"),
        "report-out": ("report", f"{D}/sessions/good.jsonl", "--out"),
    }
    for name, args in directory_commands.items():
        empty_and_long(name, args, args[-1], len(args))
        for label, (path, why) in DIRECTORY_INPUTS.items():
            add(f"{name}-{label}", *args, path, says=(path, why))
    outputs: tuple[Stdout, ...] = ("closed", "full")
    for stdout in outputs:
        for name, args in {
            "schema": ("schema",),
            "validate": ("validate", str(DEMO)),
            "verify": ("verify", f"{D}/sessions/good.jsonl"),
            "sessions": ("sessions", "--sessions-dir", f"{D}/sessions"),
            "report": ("report", f"{D}/sessions/good.jsonl", "--out", f"{D}/out-{stdout}"),
        }.items():
            add(f"{name}-stdout-{stdout}", *args, says=("standard output",), stdout=stdout)
    add("no-command", says=("cockpit: error: give a command",))
    add("unknown-option", "validate", "--nope", str(DEMO), says=("unrecognized arguments: --nope",))
    return cases


CASES = _cases()


def make_inputs(directory: Path) -> None:
    """The bad (and the few good) files the cases name."""
    (directory / "adir").mkdir()
    os.mkfifo(directory / "fifo")
    (directory / "loop").symlink_to(directory / "loop")
    (directory / "big.toml").write_bytes(b"# " + b"x" * (4 << 20) + b"\n")
    (directory / "nested.toml").write_text("x = " + "[" * 1000 + "]" * 1000 + "\n")
    (directory / "dotted.toml").write_text(".".join(["a"] * 100_000) + " = 1\n")
    (directory / "notes.txt").write_text("hello\nworld\n")
    (directory / "afile").write_text("not a directory\n")
    (directory / "loose").mkdir()
    (directory / "loose").chmod(0o777)
    (directory / "private").mkdir(mode=0o700)
    (directory / "linkdir").symlink_to(directory / "private")
    text = QUICK.read_text()
    step = 'command = ["/bin/sh", "-c", "echo deploying; echo done"]'
    assert step in text
    (directory / "var-command.toml").write_text(text.replace(step, 'command = ["${var:CMD}"]'))
    session = Session.create(QUICK, sessions_dir=directory / "sessions", environ={})
    session.submit(i.Hold(session.crew.actor("operator"), session.clock.wall(), reason="test"))
    session.journal.close()
    for suffix in ("", ".anchors"):
        shutil.copy(
            f"{session.journal_path}{suffix}", directory / "sessions" / f"good.jsonl{suffix}"
        )


def run_case(case: Case, directory: Path) -> Outcome:
    args = [arg.replace(D, str(directory)) for arg in case.args]
    env = {"XDG_STATE_HOME": str(directory / "state"), **case.env}  # never the user's own
    return run_cli(*args, stdout=case.stdout, env=env)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bad-input")
    make_inputs(directory)
    return directory


@pytest.fixture(scope="module")
def outcomes(inputs: Path) -> Iterator[dict[str, Outcome | BaseException]]:
    """Every case, run side by side (each is mostly interpreter start-up)."""

    def one(case: Case) -> Outcome | BaseException:
        try:
            return run_case(case, inputs)
        except Exception as exc:  # a timeout is that case's failure, not the module's
            return exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield dict(zip(CASES, pool.map(one, CASES.values()), strict=True))


def assert_one_clear_line(outcome: Outcome, says: tuple[str, ...], directory: Path) -> None:
    assert outcome.status == 2, outcome
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.stdout == "", f"an error went to stdout: {outcome.stdout!r}"
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    for fragment in says:
        assert fragment.replace(D, str(directory)) in lines[0], lines[0]
    assert SECRET not in outcome.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_one_line_on_stderr_and_exit_2(
    name: str, outcomes: dict[str, Outcome | BaseException], inputs: Path
) -> None:
    outcome = outcomes[name]
    if isinstance(outcome, BaseException):
        raise outcome
    assert_one_clear_line(outcome, CASES[name].says, inputs)


TERMINAL_CASES: dict[str, tuple[tuple[str, ...], str]] = {
    "run-resume-directory": (("run", "--resume", f"{D}/adir"), "is a directory"),
    "run-resume-fifo": (("run", "--resume", f"{D}/fifo"), "is a FIFO"),
    "run-resume-link-loop": (("run", "--resume", f"{D}/loop"), "is a symbolic link"),
    "run-resume-not-a-journal": (("run", "--resume", f"{D}/notes.txt"), "not a cockpit journal"),
    "watch-directory": (("watch", f"{D}/adir"), "is a directory"),
    "watch-fifo": (("watch", f"{D}/fifo"), "is a FIFO"),
    "watch-link-loop": (("watch", f"{D}/loop"), "too many levels of symbolic links"),
    "watch-not-a-journal": (("watch", f"{D}/notes.txt"), "not a cockpit journal"),
    "run-fifo": (("run", f"{D}/fifo"), "is a FIFO"),
    "run-shell-with-two-arguments": (
        ("run", f"{BAD}/shell-with-two-arguments.toml"),
        "shell = true runs one command string",
    ),
    "run-sessions-dir-writable-by-others": (
        ("run", str(QUICK), "--sessions-dir", f"{D}/loose"),
        "is writable by group or others",
    ),
    "demo-sessions-dir-symbolic-link": (
        ("demo", "--sessions-dir", f"{D}/linkdir"),
        "is a symbolic link",
    ),
}


@pytest.mark.parametrize("name", list(TERMINAL_CASES))
def test_bad_input_with_a_terminal(name: str, inputs: Path) -> None:
    args, why = TERMINAL_CASES[name]
    named = next(arg for arg in reversed(args) if not arg.startswith("-"))
    # A regression would open the screen and start a session: keep it out of $HOME.
    env = {"XDG_STATE_HOME": str(inputs / "state")}
    outcome = run_cli(*(arg.replace(D, str(inputs)) for arg in args), stdout="terminal", env=env)
    assert outcome.status == 2, outcome
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
    assert f"{named.replace(D, str(inputs))}:" in outcome.stderr
    assert why in outcome.stderr
