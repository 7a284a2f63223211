"""docs/PROFILE.md is generated from the models, is current, and documents every field."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from cockpit.profile.documented import documented_models

models = documented_models()  # the build that carries the field docstrings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "profile_reference.py"
REFERENCE = ROOT / "docs" / "PROFILE.md"

MODELS = sorted(
    (
        v
        for name, v in vars(models).items()
        if not name.startswith("_")
        and inspect.isclass(v)
        and issubclass(v, BaseModel)
        and v.__module__ == models.__name__
    ),
    key=lambda m: m.__name__,
)
FIELDS = [(m, name) for m in MODELS for name in m.model_fields]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def section_of(model: type[BaseModel], text: str) -> str:
    """The part of the page that documents ``model``: from its docstring to the next heading."""
    intro = inspect.cleandoc(model.__doc__ or "")
    assert intro, f"{model.__name__} has no docstring"
    found = [part for part in re.split(r"^### ", text, flags=re.M) if f"\n\n{intro}" in part]
    assert len(found) == 1, f"{model.__name__}: expected one section, found {len(found)}"
    return found[0]


def test_the_reference_is_current() -> None:
    done = run_script("--check")
    assert done.returncode == 0, done.stderr + "\nrun: python scripts/profile_reference.py"


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "PROFILE.md"
    stale.write_text(REFERENCE.read_text(encoding="utf-8").replace("| `pass_count` |", "| x |"))
    done = run_script("--check", "--output", str(stale))
    assert done.returncode == 1
    assert "out of date" in done.stderr
    assert run_script("--check", "--output", str(tmp_path / "missing.md")).returncode == 1


def test_writing_then_checking_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "PROFILE.md"
    assert run_script("--output", str(target)).returncode == 0
    assert target.read_text(encoding="utf-8") == REFERENCE.read_text(encoding="utf-8")


def test_the_walk_found_the_models() -> None:
    names = {m.__name__ for m in MODELS}
    assert {"Profile", "Check", "Metric", "Step", "Threshold", "HttpSource"} <= names
    assert len(FIELDS) > 100


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
def test_every_field_has_a_description(model: type[BaseModel], name: str) -> None:
    description = model.model_fields[name].description
    assert description is not None
    assert description.strip(), f"{model.__name__}.{name}: write a docstring under the field"


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_field_appears_in_its_section(model: type[BaseModel]) -> None:
    section = section_of(model, REFERENCE.read_text(encoding="utf-8"))
    for name, info in model.model_fields.items():
        rows = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
        assert len(rows) == 1, f"{model.__name__}.{name} is not in docs/PROFILE.md"
        assert " ".join((info.description or "").split()) in rows[0].replace("\\|", "|")


def test_each_source_kind_has_its_own_section() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    kinds = [
        get_args(m.model_fields["kind"].annotation)
        for m in MODELS
        if m.__name__.endswith("Source") and "kind" in m.model_fields
    ]
    assert len(kinds) == 8
    for (value,) in kinds:
        assert f'### `kind = "{value}"`' in text


def test_the_page_explains_editor_support() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    editor = text.split("## Editor support", 1)[1].split("\n## ", 1)[0]
    assert "cockpit schema > cockpit.schema.json" in editor
    assert "#:schema ./cockpit.schema.json" in editor
    assert "[[rule]]" in editor
    assert "[rule.schema]" in editor


def test_only_the_documented_build_reads_field_docstrings() -> None:
    # At run time the models skip parsing their own source (0.03 s of every start).
    from cockpit.profile import models as runtime

    assert runtime.Threshold.model_fields["below"].description is None
    assert models.Threshold.model_fields["below"].description
    assert models.Threshold is not runtime.Threshold
