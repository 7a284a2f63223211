"""Artifact probes: the artifact about to ship is the one that was approved."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat

from cockpit.files import FileRefused, describe_kind
from cockpit.probes.base import ProbeContext
from cockpit.probes.command import explain_failure, last_line, run_short
from cockpit.profile.models import ArtifactSource
from cockpit.sample import Sample, Status


def sha256_of(path: str) -> str:
    """``sha256:HEX`` of a regular file's content.

    Raises:
        FileNotFoundError: no such file.
        FileRefused: a FIFO, a device or a directory (reading one would never end).
        OSError: it cannot be read.
    """
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(path, f"is {describe_kind(mode)}, not an artifact file")
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _normal(identity: str) -> str:
    # Hex digests are case-insensitive; tags are not.
    text = identity.strip()
    return text.lower() if text.lower().startswith("sha256:") else text


async def probe_artifact(source: ArtifactSource, ctx: ProbeContext) -> Sample:
    """Compare the actual digest or tag with the expected one.

    ``expected`` defaults to the deployment's approved digest or tag (``ctx.expected_artifact``).
    The actual identity is the last non-empty line of ``from_command``'s stdout, or the
    sha256 of ``from_file``. A mismatch is FAIL naming both; not being able to find the
    actual identity is ERROR.
    """
    expected = source.expected or ctx.expected_artifact
    if not expected:
        return ctx.error("no expected artifact: set expected or deployment.artifact")
    if source.from_command is not None:
        result = await run_short(source.from_command, ctx)
        problem = explain_failure(result, ctx.timeout)
        if problem:
            return ctx.error(problem)
        if result.exit_code != 0:
            why = last_line(result.stderr, result.stdout) or "no output"
            return ctx.error(f"from_command exited {result.exit_code}: {why}")
        actual = last_line(result.stdout)
        if not actual:
            return ctx.error("from_command printed nothing")
    else:
        assert source.from_file is not None
        try:
            actual = await asyncio.to_thread(sha256_of, source.from_file)
        except FileNotFoundError:
            return ctx.error(f"no such file: {source.from_file}")
        except OSError as exc:  # FileRefused among them: says what the path is
            return ctx.error(f"cannot read {source.from_file}: {exc.strerror or exc}")
    if _normal(actual) != _normal(expected):
        return ctx.fail(f"actual {ctx.quote(actual)} is not the approved {ctx.quote(expected)}")
    return ctx.sample(Status.PASS, f"{actual} is the approved artifact")
