"""A secret from ``${env:...}`` on every path a session writes or shows: probe details, the
journal, the output files, the evidence, ``check --json`` and error messages. Real HTTP
server, real step and rollback processes under their supervisors, real journal.

The secret holds what the old probe pipeline altered (a backslash, quotes, a double space,
non-ASCII) and ``${...}``, which once made ``check`` and ``run`` crash with a traceback
that printed it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from cockpit.cli import main
from cockpit.clock import FakeClock
from cockpit.engine import intents as i
from cockpit.evidence import write_evidence
from cockpit.inert import visible
from cockpit.journal import read_journal
from cockpit.probes import sample_metric
from cockpit.profile import Profile, ProfileError, load_profile, resolve_profile
from cockpit.profile.models import HttpSource
from cockpit.sample import Sample, Status
from cockpit.session import Session
from tests.support.processes import wait_for
from tests.unit.test_probe_fakeserver import FakeServer

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "tests" / "data" / "session" / "quick.toml"
SECRET = "Tok\\en\"'-${oops}-s3cr  3t-ÄÖ-9f8e7d"
T = 1_800_000_000.0

PRINT_SPLIT = (
    "import os, sys; t = os.environ['TOKEN']; "
    "sys.stdout.write('plain ' + t + '\\n'); "
    "sys.stdout.write('reset ' + t[:7] + '\\x1b[0m' + t[7:] + '\\n'); "
    "sys.stdout.write('zw ' + t[:9] + '\\u200b' + t[9:] + '\\n')"
)
PRINT_PLAIN = "import os, sys; sys.stdout.write('rollback with ' + os.environ['TOKEN'] + '\\n')"


def windows(size: int = 6) -> list[str]:
    """Every run of ``size`` characters of the secret and of its altered forms."""
    forms = {SECRET, json.dumps(SECRET)[1:-1], repr(SECRET)[1:-1], " ".join(SECRET.split())}
    return [f[k : k + size] for f in forms for k in range(len(f) - size + 1)]


def leaks(text: str) -> list[str]:
    """Parts of the secret in ``text``, also once escapes and invisible characters are out."""
    return sorted({w for shown in (text, visible(text)) for w in windows() if w in shown})


def assert_hidden(where: str, text: str) -> None:
    assert leaks(text) == [], where


def profile_doc(url: str) -> dict[str, Any]:
    doc = load_profile(QUICK).model_dump(mode="json", exclude_none=True)
    doc["checks"].append(
        {
            "id": "ping",
            "title": "Service answers",
            "source": {"kind": "http", "url": f"{url}/check"},
        }
    )
    doc["metrics"] += [
        {
            "id": "answer",
            "title": "Answer",
            "threshold": {"below": 10_000},
            "source": {"kind": "http", "url": f"{url}/answer"},
        },
        {
            "id": "json",
            "title": "JSON value",
            "threshold": {"below": 1},
            "source": {"kind": "http", "url": f"{url}/json", "json_path": "v"},
        },
    ]
    step = doc["stages"][0]["steps"][0]
    step["command"] = [sys.executable, "-c", PRINT_SPLIT]
    step["env"] = {"TOKEN": "${env:TOK}"}
    doc["rollback"]["commands"] = [[sys.executable, "-c", PRINT_PLAIN]]
    doc["rollback"]["env"] = {"TOKEN": "${env:TOK}"}
    return doc


def serve_secrets(server: FakeServer) -> None:
    # Each answer quotes the secret where the old pipeline cut, collapsed or re-encoded it.
    server.text("/check", "x" * 50 + SECRET + " rejected", status=401)
    server.text("/answer", f"bad: {SECRET[:7]}\x1b[0m{SECRET[7:]} / {SECRET}", status=503)
    server.json("/json", {"v": f"token {SECRET}"})


async def test_a_secret_stays_out_of_every_path_of_a_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: dict[str, str] = {}  # every path, checked together at the end
    async with FakeServer() as server:
        serve_secrets(server)
        profile = tmp_path / "secret.toml"
        profile.write_text(tomli_w.dumps(profile_doc(server.url)))
        clock = FakeClock(T)
        session = Session.create(
            profile, sessions_dir=tmp_path / "sessions", environ={"TOK": SECRET}, clock=clock
        )
        op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
        try:
            await session.run_checks()  # the check FAILs quoting the secret
            failed = session.state.checks["ping"].sample
            assert failed is not None and failed.status is Status.FAIL
            shown["check detail"] = failed.detail
            server.text("/check", "ok")
            await session.run_checks()
            for metric in session.profile.metrics[1:]:
                sample = await sample_metric(metric, clock=clock, secrets=session.resolved.secrets)
                shown[f"{metric.id} detail"] = sample.detail
                session.on_sample(sample)
            session.on_sample(Sample("error-rate", Status.PASS, 0.1, "%", clock.wall(), "0.1 %"))
            await session.act(i.ConfirmReadback(mon, clock.wall(), typed="5m"))
            await session.act(i.ConfirmManualCheck(op, clock.wall(), "runbook"))
            await session.act(i.Go(op, clock.wall()))
            await session.act(i.Go(mon, clock.wall()))
            command = tuple(session.profile.steps()[0][1].command)
            await session.act(i.VerifyStep(mon, clock.wall(), "deploy", command))
            await session.act(i.RunStep(op, clock.wall(), "deploy"))
            step = session.state.steps[0]
            await wait_for(lambda: step.finished is not None, 20, "the step to end")
            await session.act(i.RollBackNow(mon, clock.wall(), "test"))
            rollback = session.state.rollback
            assert rollback is not None
            await wait_for(lambda: rollback.commands[0].finished, 20, "the rollback to end")
            await wait_for(
                lambda: any(
                    r.kind == "rollback.snapshot" for r in read_journal(session.journal_path)
                ),
                20,
                "the snapshot",
            )
            session.flush()
        finally:
            await session.close()

        session_dir = session.journal_path.with_suffix("")
        for path in sorted(session_dir.glob("*.out*")):
            shown[path.name] = path.read_text()
        shown["journal"] = session.journal_path.read_text()
        for path in write_evidence(session.journal_path):
            shown[path.name] = path.read_text()

        monkeypatch.setenv("TOK", SECRET)
        server.text("/check", "x" * 50 + SECRET + " rejected", status=401)
        out: list[str] = []

        def check_json() -> int:
            with _captured(out):
                return main(["check", "--json", str(profile)])

        status = await asyncio.to_thread(check_json)
        shown["check --json"] = "".join(out)
        assert status == 1, out
        assert "Traceback" not in out[1]

    assert {"step-1-deploy.out", "rollback-1.out", "DEPLOYMENT-REPORT.md"} <= set(shown)
    leaked = {where: found for where, text in shown.items() if (found := leaks(text))}
    assert leaked == {}, f"leaks in: {sorted(leaked)}"
    assert shown["step-1-deploy.out"].count("[REDACTED]") == 3, shown["step-1-deploy.out"]
    for where in ("check detail", "answer detail", "json detail", "journal", "check --json"):
        assert "[REDACTED]" in shown[where], where


class _captured:
    """stdout and stderr of an in-process command (capsys cannot follow a thread)."""

    def __init__(self, into: list[str]) -> None:
        import io

        self.into = into
        self.out, self.err = io.StringIO(), io.StringIO()

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.out, self.err

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.saved
        self.into += [self.out.getvalue(), self.err.getvalue()]


# ---------------------------------------------------------------- a resolved value is data

REFERENCE_LIKE = ["a${oops}b", "${env:OTHER}", "${var:X}", "x${", "}${env:Y:-z}", "${}"]


@pytest.mark.parametrize("value", REFERENCE_LIKE)
def test_a_value_from_the_environment_is_never_read_as_a_reference(value: str) -> None:
    doc = load_profile(QUICK).model_dump(mode="json", exclude_none=True)
    doc["metrics"][0]["source"]["url"] = "http://127.0.0.1:9/q?t=${env:TOK}"
    doc["metrics"][0]["source"]["headers"] = {"Authorization": "${env:TOK}"}
    doc["stages"][0]["steps"][0]["command"] = ["echo", "${var:ARG}"]
    doc["stages"][0]["steps"][0]["env"] = {"TOKEN": "${env:TOK}"}
    profile = Profile.model_validate(doc)
    secret = f"s3cr3t-{value}"
    resolved = resolve_profile(profile, {"TOK": secret, "ARG": value})
    source = resolved.profile.metrics[0].source
    assert isinstance(source, HttpSource)
    assert source.url == f"http://127.0.0.1:9/q?t={secret}"
    assert resolved.profile.steps()[0][1].command == ["echo", value]
    assert resolved.profile.steps()[0][1].env == {"TOKEN": secret}
    assert resolved.secrets == (secret,)


def test_what_the_resolved_values_break_is_named_without_the_values() -> None:
    doc = load_profile(QUICK).model_dump(mode="json", exclude_none=True)
    doc["stages"][0]["steps"][0]["command"] = ["${var:CMD}", "x"]
    doc["metrics"][0]["source"]["headers"] = {"Authorization": "${env:TOK}"}
    with pytest.raises(ProfileError) as info:
        resolve_profile(Profile.model_validate(doc), {"TOK": SECRET, "CMD": ""})
    [problem] = info.value.problems
    assert problem.where == "stages['production'].steps['deploy'].command"
    assert "the command is empty" in problem.message
    assert SECRET not in str(info.value)


def test_check_and_run_do_not_crash_on_a_secret_holding_a_reference(tmp_path: Path) -> None:
    doc = load_profile(QUICK).model_dump(mode="json", exclude_none=True)
    doc["metrics"][0]["source"]["url"] = "http://127.0.0.1:9/q?t=${env:TOK}"
    profile = tmp_path / "p.toml"
    profile.write_text(tomli_w.dumps(doc))
    env = {"TOK": SECRET, "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "check", "--json", str(profile)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert_hidden("check", done.stdout + done.stderr)
    # `run` opens the session before the screen: the same resolution, the same values.
    session = Session.create(profile, sessions_dir=tmp_path / "s", environ={"TOK": SECRET})
    session.journal.close()
    assert session.resolved.secrets == (SECRET,)


def test_a_crash_report_never_prints_a_resolved_value() -> None:
    code = f"""
import sys
from cockpit import cli
from cockpit.profile import Profile, load_profile, resolve_profile
doc = load_profile({str(QUICK)!r}).model_dump(mode="json")
doc["metrics"][0]["source"]["headers"] = {{"A": "${{env:TOK}}"}}
resolve_profile(Profile.model_validate(doc), {{"TOK": sys.argv[1]}})
cli.install_crash_report()  # as the cockpit command does first
raise RuntimeError("could not use " + sys.argv[1])
"""
    secret = "s3cr3t-\x1b]2;pwned\x07-value"
    done = subprocess.run(
        [sys.executable, "-c", code, secret],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" in done.stderr
    assert "could not use [REDACTED]" in done.stderr
    assert secret not in done.stderr
    assert "\x1b" not in done.stderr
