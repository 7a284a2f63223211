"""A profile at the supported maximum loads; one more metric, check or step is refused by
``cockpit validate`` with one clear line naming the file, the line and the limit."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from cockpit.profile import load_profile
from cockpit.profile.models import MAX_CHECKS, MAX_METRICS, MAX_STEPS
from tests.unit.test_profile_errors import validate

DEMO = tomllib.loads((Path(__file__).resolve().parents[2] / "profiles" / "demo.toml").read_text())


def sized(*, metrics: int, checks: int, steps: int) -> dict[str, Any]:
    """The demo profile with this many metrics, checks and steps (steps over two stages)."""
    data = copy.deepcopy(DEMO)
    metric, check = data["metrics"][0], data["checks"][0]
    data["metrics"] = [dict(metric, id=f"m-{i}", title=f"m {i}") for i in range(metrics)]
    data["checks"] = [dict(check, id=f"c-{i}", title=f"c {i}") for i in range(checks)]
    step = dict(data["stages"][0]["steps"][0], stop_point=["m-0"])
    half = steps // 2
    data["deployment"]["environments"] = ["staging", "production"]
    data["stages"] = [
        {
            "name": "staging",
            "environment": "staging",
            "steps": [dict(step, id=f"a-{i}") for i in range(half)],
        },
        {
            "name": "production",
            "environment": "production",
            "steps": [dict(step, id=f"b-{i}") for i in range(steps - half)],
        },
    ]
    data["rollback"]["verify"] = {"metrics": ["m-0"]}
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def test_a_profile_at_the_maximum_loads(tmp_path: Path) -> None:
    path = write(tmp_path, sized(metrics=MAX_METRICS, checks=MAX_CHECKS, steps=MAX_STEPS))
    profile = load_profile(path)
    assert len(profile.metrics) == MAX_METRICS
    assert len(profile.checks) == MAX_CHECKS
    assert len(profile.steps()) == MAX_STEPS


@pytest.mark.parametrize(
    ("sizes", "message", "header"),
    [
        (
            {"metrics": MAX_METRICS + 1},
            f"{MAX_METRICS + 1} metrics: the cockpit supports at most {MAX_METRICS}",
            "[[metrics]]",
        ),
        (
            {"checks": MAX_CHECKS + 1},
            f"{MAX_CHECKS + 1} checks: the cockpit supports at most {MAX_CHECKS}",
            "[[checks]]",
        ),
        (
            {"steps": MAX_STEPS + 1},  # over two stages: the limit counts them all
            f"{MAX_STEPS + 1} steps in all: the cockpit supports at most {MAX_STEPS}",
            "[[stages]]",
        ),
        (
            {"metrics": 10_000},
            f"10000 metrics: the cockpit supports at most {MAX_METRICS}",
            "[[metrics]]",
        ),
    ],
    ids=["metrics", "checks", "steps", "10,000 metrics"],
)
def test_validate_refuses_more_than_the_maximum(
    tmp_path: Path, sizes: dict[str, int], message: str, header: str
) -> None:
    counts = {"metrics": 4, "checks": 4, "steps": 2, **sizes}
    path = write(tmp_path, sized(**counts))
    run = validate(path)
    assert run.status == 2, run.output
    line = path.read_text().split("\n").index(header) + 1  # the first table of that kind
    assert f"{path}:{line}:" in run.output, run.output
    assert message in run.output, run.output
    assert "Traceback" not in run.output
    assert len(run.output.strip().splitlines()) == 1, run.output
