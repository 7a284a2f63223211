"""Command and artifact-from-command probes with real processes (through the runner)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cockpit.clock import SystemClock
from cockpit.probes import measure, run_check
from cockpit.profile.loader import load_profile
from cockpit.profile.models import ArtifactSource, Check, CommandSource, Threshold
from cockpit.sample import Sample, Status


async def command(
    *argv: str,
    threshold: Threshold | None = None,
    timeout: float = 5.0,
    secrets: tuple[str, ...] = (),
    **fields: Any,
) -> Sample:
    source = CommandSource.model_validate({"kind": "command", "command": list(argv), **fields})
    return await measure(
        source,
        id="cmd",
        threshold=threshold,
        unit="",
        timeout=timeout,
        clock=SystemClock(),
        secrets=secrets,
    )


async def test_exit_status_decides() -> None:
    ok = await command("true")
    bad = await command("sh", "-c", "echo first >&2; echo 'disk full' >&2; exit 3")
    expected = await command("sh", "-c", "exit 3", expect_exit=3)
    assert ok.status is Status.PASS
    assert bad.status is Status.FAIL
    assert "exit 3 (expected 0)" in bad.detail and "disk full" in bad.detail
    assert "first" not in bad.detail
    assert expected.status is Status.PASS


async def test_value_regex_reads_a_number_from_stdout() -> None:
    argv = ("sh", "-c", "echo 'replication lag=42ms'")
    inside = await command(*argv, value_regex=r"lag=(\d+)ms", threshold=Threshold(below=100))
    outside = await command(*argv, value_regex=r"lag=(\d+)ms", threshold=Threshold(below=10))
    nomatch = await command(*argv, value_regex=r"delay=(\d+)", threshold=Threshold(below=10))
    assert inside.status is Status.PASS and inside.value == 42
    assert outside.status is Status.FAIL and outside.value == 42
    assert nomatch.status is Status.ERROR and "no match" in nomatch.detail


@pytest.mark.parametrize(
    ("printed", "detail"),
    [
        ("nan", "value is NaN, not a finite number"),
        ("NaN", "value is NaN, not a finite number"),
        ("inf", "value is +Inf, not a finite number"),
        ("-Infinity", "value is -Inf, not a finite number"),
        ("1e999", "value is +Inf, not a finite number"),
        ("12abc", "value_regex matched '12abc', not a number"),
    ],
)
async def test_a_printed_value_that_is_not_a_finite_number_is_an_error(
    printed: str, detail: str
) -> None:
    sample = await command(
        "printf", "lag=%s\\n", printed, value_regex=r"lag=(\S+)", threshold=Threshold(below=100)
    )
    assert sample.status is Status.ERROR, sample
    assert detail in sample.detail, sample.detail
    assert "probe failed" not in sample.detail and "Error" not in sample.detail
    assert sample.value is None


async def test_a_threshold_without_a_number_is_never_pass() -> None:
    sample = await command("true", threshold=Threshold(below=1))
    assert sample.status is Status.ERROR


async def test_timeout_missing_program_and_secrets() -> None:
    started = time.monotonic()
    slow = await command("sleep", "30", timeout=0.6)
    assert time.monotonic() - started < 4
    assert slow.status is Status.ERROR and "timed out" in slow.detail
    missing = await command("no-such-program-xyz")
    assert missing.status is Status.ERROR and "no-such-program-xyz" in missing.detail
    secret = "hunter2-very-secret"
    leaky = await command(
        "echo token=$TOKEN >&2; exit 1", shell=True, env={"TOKEN": secret}, secrets=(secret,)
    )
    assert leaky.status is Status.FAIL
    assert secret not in leaky.detail and "[REDACTED]" in leaky.detail


async def test_artifact_from_command_uses_the_last_line() -> None:
    clock = SystemClock()
    source = ArtifactSource(kind="artifact", from_command=["printf", "building\\nv2\\n\\n"])
    match = await measure(
        source, id="a", threshold=None, unit="", timeout=5, clock=clock, expected_artifact="v2"
    )
    other = await measure(
        source, id="a", threshold=None, unit="", timeout=5, clock=clock, expected_artifact="v3"
    )
    failing = await measure(
        ArtifactSource(kind="artifact", from_command=["false"], expected="v2"),
        id="a",
        threshold=None,
        unit="",
        timeout=5,
        clock=clock,
    )
    assert match.status is Status.PASS
    assert other.status is Status.FAIL and "'v2'" in other.detail and "'v3'" in other.detail
    assert failing.status is Status.ERROR


async def test_run_check_manual_and_default_expected_artifact() -> None:
    profile = load_profile("profiles/demo.toml")
    manual = next(c for c in profile.checks if c.manual is not None)
    sample = await run_check(manual, profile, clock=SystemClock())
    assert sample.status is Status.INCONCLUSIVE
    assert sample.detail == f"manual: confirmed by {manual.manual.role} in the cockpit"  # type: ignore[union-attr]
    tag = profile.deployment.artifact.tag
    check = Check.model_validate(
        {
            "id": "art",
            "title": "artifact",
            "source": {"kind": "artifact", "from_command": ["echo", str(tag)]},
        }
    )
    assert (await run_check(check, profile, clock=SystemClock())).status is Status.PASS
