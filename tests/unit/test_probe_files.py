"""file_age, artifact (from a file), env_catalog and tcp probes against real files/sockets."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import FakeClock, SystemClock
from cockpit.probes import measure
from cockpit.profile.models import (
    ArtifactSource,
    EnvCatalogSource,
    FileAgeSource,
    TcpSource,
    Threshold,
)
from cockpit.sample import Sample, Status
from tests.unit.test_probe_fakeserver import closed_port


def local(year: int, month: int, day: int, hour: int) -> float:
    """Epoch seconds of a local time: ``today`` is about the local date."""
    return datetime.datetime(year, month, day, hour).timestamp()


async def run(source: Any, clock: Any = None, **kw: Any) -> Sample:
    return await measure(
        source,
        id="c",
        threshold=kw.pop("threshold", None),
        unit="",
        timeout=3.0,
        clock=clock or SystemClock(),
        **kw,
    )


# ---------------------------------------------------------------- file_age


async def test_today_compares_local_dates_with_the_clock(tmp_path: Path) -> None:
    evidence = tmp_path / "smoke-passed"
    evidence.write_text("ok")
    os.utime(evidence, (local(2027, 3, 4, 1), local(2027, 3, 4, 1)))
    source = FileAgeSource(kind="file_age", path=str(evidence), today=True)
    same_day = await run(source, FakeClock(wall=local(2027, 3, 4, 23)))
    next_day = await run(source, FakeClock(wall=local(2027, 3, 5, 0) + 60))
    assert same_day.status is Status.PASS
    assert same_day.value == pytest.approx(22 * 3600)
    assert next_day.status is Status.FAIL
    assert "not today (2027-03-05)" in next_day.detail


async def test_max_age_missing_and_future(tmp_path: Path) -> None:
    evidence = tmp_path / "built"
    evidence.write_text("ok")
    os.utime(evidence, (1_000_000.0, 1_000_000.0))
    source = FileAgeSource.model_validate(
        {"kind": "file_age", "path": str(evidence), "max_age": "1h"}
    )
    young = await run(source, FakeClock(wall=1_000_000.0 + 1800))
    old = await run(source, FakeClock(wall=1_000_000.0 + 7200))
    future = await run(source, FakeClock(wall=1_000_000.0 - 3600))
    gone = await run(
        FileAgeSource.model_validate(
            {"kind": "file_age", "path": str(tmp_path / "nope"), "max_age": "1h"}
        )
    )
    assert young.status is Status.PASS
    assert old.status is Status.FAIL and "older than 1h" in old.detail
    assert future.status is Status.INCONCLUSIVE and "future" in future.detail
    assert gone.status is Status.FAIL and "no such file" in gone.detail


# ---------------------------------------------------------------- artifact (file)


async def test_artifact_digest_of_a_file(tmp_path: Path) -> None:
    blob = tmp_path / "app.tar"
    blob.write_bytes(b"release 2")
    digest = "sha256:" + hashlib.sha256(b"release 2").hexdigest()
    source = ArtifactSource(kind="artifact", from_file=str(blob))
    match = await run(source, expected_artifact=digest.upper().replace("SHA256", "sha256"))
    other = await run(source, expected_artifact="sha256:" + "0" * 64)
    unknown = await run(source)
    missing = await run(
        ArtifactSource(kind="artifact", from_file=str(tmp_path / "x"), expected="v2")
    )
    assert match.status is Status.PASS
    assert other.status is Status.FAIL
    assert digest in other.detail and "0" * 64 in other.detail
    assert unknown.status is Status.ERROR and "no expected artifact" in unknown.detail
    assert missing.status is Status.ERROR and "no such file" in missing.detail


async def test_files_the_probes_read_are_regular_files(tmp_path: Path) -> None:
    # A FIFO named as the artifact or the example file: opened without blocking and refused.
    # This test holds a writer on it so that an open that blocks, or a read that waits for
    # data, would time out instead (ERROR for the wrong reason), then end at EOF below.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    try:
        artifact = await run(ArtifactSource(kind="artifact", from_file=str(fifo), expected="v2"))
        catalog = await run(
            EnvCatalogSource(kind="env_catalog", declared=["X"], example_file=str(fifo))
        )
        device = await run(ArtifactSource(kind="artifact", from_file="/dev/null", expected="v2"))
    finally:
        os.close(writer)
    assert artifact.status is Status.ERROR and "is a FIFO" in artifact.detail, artifact
    assert catalog.status is Status.ERROR and "is a FIFO" in catalog.detail, catalog
    assert device.status is Status.ERROR and "is a character device" in device.detail, device


# ---------------------------------------------------------------- env_catalog


async def test_env_catalog_names_problems_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = tmp_path / ".env.example"
    example.write_text(
        "# database\nDATABASE_URL=postgres://example\n\nexport API_KEY=changeme\n"
        "LEGACY_FLAG=1\n  # LEGACY_COMMENTED=1\n"
    )
    monkeypatch.setenv("DATABASE_URL", "postgres://prod-secret-host/db")
    monkeypatch.setenv("API_KEY", "")
    monkeypatch.setenv("OPTIONAL", "")
    monkeypatch.delenv("REDIS_URL", raising=False)
    source = EnvCatalogSource(
        kind="env_catalog",
        declared=["DATABASE_URL", "API_KEY", "REDIS_URL", "OPTIONAL"],
        example_file=str(example),
        allow_empty=["OPTIONAL"],
    )
    sample = await run(source)
    assert sample.status is Status.FAIL
    assert "orphan" in sample.detail and "LEGACY_FLAG" in sample.detail
    assert "LEGACY_COMMENTED" not in sample.detail
    assert "missing: REDIS_URL" in sample.detail
    assert "empty: API_KEY" in sample.detail
    assert "OPTIONAL" not in sample.detail
    assert "prod-secret-host" not in sample.detail

    monkeypatch.setenv("REDIS_URL", "redis://x")
    monkeypatch.setenv("API_KEY", "k")
    example.write_text("DATABASE_URL=\nAPI_KEY=\nREDIS_URL=\n")
    assert (await run(source)).status is Status.PASS
    gone = EnvCatalogSource(kind="env_catalog", declared=["X"], example_file=str(tmp_path / "n"))
    assert (await run(gone)).status is Status.ERROR


# ---------------------------------------------------------------- tcp


async def test_tcp_open_and_closed_ports() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        listening = await run(
            TcpSource(kind="tcp", host="127.0.0.1", port=port), threshold=Threshold(below=1000)
        )
    finally:
        server.close()
        await server.wait_closed()
    refused = await run(TcpSource(kind="tcp", host="127.0.0.1", port=closed_port()))
    assert listening.status is Status.PASS and listening.value is not None
    assert refused.status is Status.ERROR
