"""Every probe builds its detail from outside text the same way: secrets redacted on the text
as it was read, then shortened, quoted and made inert. Real servers and real processes."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cockpit.clock import FakeClock
from cockpit.inert import inert, is_inert
from cockpit.probes import measure
from cockpit.profile.models import (
    ArtifactSource,
    CommandSource,
    HttpSource,
    PrometheusSource,
    Source,
    Threshold,
)
from cockpit.sample import Sample
from tests.unit.test_probe_fakeserver import FakeServer, response

NOW = 1_800_000_000.0

# A backslash, both quotes, a double space and non-ASCII: repr(), json.dumps() and collapsing
# whitespace each alter it, and a cut leaves its start.
SECRET = "Tok\\en\"'-s3cr  3t-ÄÖ-9f8e7d"


async def measured(source: Source, *, threshold: Threshold | None = None) -> Sample:
    return await measure(
        source,
        id="m",
        threshold=threshold,
        unit="",
        timeout=5.0,
        clock=FakeClock(wall=NOW + 1),
        staleness=30.0,
        secrets=(SECRET,),
    )


def http(server: FakeServer, path: str, **fields: Any) -> HttpSource:
    return HttpSource.model_validate({"kind": "http", "url": server.url + path, **fields})


def prometheus(server: FakeServer) -> PrometheusSource:
    return PrometheusSource(kind="prometheus", url=server.url, query="up")


def series(metric: dict[str, str], value: Any) -> dict[str, Any]:
    return {"metric": metric, "value": value}


def vector(*result: dict[str, Any]) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": list(result)}}


Path = Callable[[FakeServer, str], Awaitable[Sample]]


async def http_status(server: FakeServer, text: str) -> Sample:
    # The text starts at character 50: a cut at 80 before redaction left its first 30.
    server.text("/a", "x" * 50 + text + " and more", status=503)
    return await measured(http(server, "/a"))


async def http_not_json(server: FakeServer, text: str) -> Sample:
    server.text("/a", f"<html>{text}</html>")
    return await measured(http(server, "/a", json_path="v"))


async def http_json_string(server: FakeServer, text: str) -> Sample:
    server.json("/a", {"v": f"oops {text}"})
    return await measured(http(server, "/a", json_path="v"))


async def http_body_contains(server: FakeServer, text: str) -> Sample:
    server.text("/a", "nothing here")
    return await measured(http(server, "/a", body_contains=text))


async def http_status_line(server: FakeServer, text: str) -> Sample:
    server.raw("/a", f"HTTP/1.1 {'y' * 30}{text}\r\n\r\n".encode())
    return await measured(http(server, "/a"))


async def prometheus_error(server: FakeServer, text: str) -> Sample:
    doc = {"status": "error", "errorType": "bad_data", "error": f"parse error: {text}"}
    server.prometheus(lambda q: (400, doc))
    return await measured(prometheus(server))


async def prometheus_warning(server: FakeServer, text: str) -> Sample:
    doc = vector(series({}, [NOW, "1"])) | {"warnings": [f"partial: {text}"]}
    server.prometheus(lambda q: (200, doc))
    return await measured(prometheus(server))


async def prometheus_labels(server: FakeServer, text: str) -> Sample:
    doc = vector(series({"job": text}, [NOW, "1"]), series({"job": "b"}, [NOW, "2"]))
    server.prometheus(lambda q: (200, doc))
    return await measured(prometheus(server))


async def prometheus_value(server: FakeServer, text: str) -> Sample:
    server.prometheus(lambda q: (200, vector(series({}, [NOW, text]))))
    return await measured(prometheus(server))


async def prometheus_pair(server: FakeServer, text: str) -> Sample:
    server.prometheus(lambda q: (200, vector(series({}, [text, "1"]))))
    return await measured(prometheus(server))


async def prometheus_not_json(server: FakeServer, text: str) -> Sample:
    server.raw("/api/v1/query", response(502, f"<h1>{text}</h1>".encode(), "text/html"))
    return await measured(prometheus(server))


def _printing(text: str) -> list[str]:
    # The text reaches the command through its environment (never argv), as a step's would.
    code = "import os, sys; sys.stdout.write(os.environ['T'])"
    return [sys.executable, "-c", code]


async def command_value(server: FakeServer, text: str) -> Sample:
    source = CommandSource(
        kind="command",
        command=_printing(text),
        env={"T": f"lag=<{text}>"},
        value_regex="lag=<(.*)>",
    )
    return await measured(source, threshold=Threshold(below=1))


async def command_output(server: FakeServer, text: str) -> Sample:
    source = CommandSource(kind="command", command=_printing(text), env={"T": f"said {text}"})
    return await measured(source)


async def artifact_actual(server: FakeServer, text: str) -> Sample:
    argv = [sys.executable, "-c", "import sys; sys.stdout.write(sys.argv[1])", text]
    source = ArtifactSource(kind="artifact", expected="sha256:abc", from_command=argv)
    return await measured(source)


PATHS: list[Any] = [
    pytest.param(http_status, id="http-status-body"),
    pytest.param(http_not_json, id="http-not-json"),
    pytest.param(http_json_string, id="http-json-path-string"),
    pytest.param(http_body_contains, id="http-body-contains"),
    pytest.param(http_status_line, id="http-status-line"),
    pytest.param(prometheus_error, id="prometheus-error"),
    pytest.param(prometheus_warning, id="prometheus-warning"),
    pytest.param(prometheus_labels, id="prometheus-labels"),
    pytest.param(prometheus_value, id="prometheus-value"),
    pytest.param(prometheus_pair, id="prometheus-timestamp"),
    pytest.param(prometheus_not_json, id="prometheus-not-json"),
    pytest.param(command_value, id="command-value-regex"),
    pytest.param(command_output, id="command-output"),
]

HOSTILE = [
    pytest.param("\x1b[2J\x1b[H", id="clear-screen"),
    pytest.param("\x1b]2;pwned\x07", id="osc2-title"),
    pytest.param("\x1b]52;c;cm0gLXJmIH4=\x07", id="osc52-clipboard"),
    pytest.param("\x1b[6n", id="dsr"),
    pytest.param("\x9b2J", id="c1-csi"),
    pytest.param("evil\u202etxt.exe", id="bidi"),
    pytest.param("zero\u200bwidth", id="zero-width"),
]


def windows(secret: str, size: int = 6) -> list[str]:
    """Every run of ``size`` characters of the secret (and of its altered forms)."""
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], " ".join(secret.split())}
    return [f[i : i + size] for f in forms for i in range(len(f) - size + 1)]


def assert_no_part_of_the_secret(detail: str) -> None:
    shown = [w for w in windows(SECRET) if w in detail]
    assert shown == [], detail


@pytest.mark.parametrize("path", PATHS)
async def test_no_part_or_altered_form_of_a_secret_reaches_a_detail(path: Path) -> None:
    async with FakeServer() as server:
        sample = await path(server, SECRET)
    assert_no_part_of_the_secret(sample.detail)
    assert "[REDACTED]" in sample.detail


@pytest.mark.parametrize("path", PATHS)
async def test_a_secret_interrupted_by_an_escape_or_zero_width_is_redacted(path: Path) -> None:
    for between in ("\x1b[0m", "\u200b"):
        async with FakeServer() as server:
            sample = await path(server, SECRET[:9] + between + SECRET[9:])
        assert_no_part_of_the_secret(sample.detail.replace("^[[0m", "").replace("\\u200b", ""))


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("path", PATHS)
async def test_hostile_text_reaches_a_detail_inert(path: Path, hostile: str) -> None:
    async with FakeServer() as server:
        sample = await path(server, hostile)
    assert is_inert(sample.detail), sample.detail
    assert inert(hostile) in sample.detail


async def test_artifact_mismatch_names_the_actual_inert() -> None:
    async with FakeServer() as server:
        sample = await artifact_actual(server, "\x1b]2;pwned\x07")
    assert is_inert(sample.detail)
    assert "'^[]2;pwned^G'" in sample.detail
