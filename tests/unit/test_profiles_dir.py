"""Every profile shipped in profiles/ is valid, passes --strict and resolves.

Parametrized by file, so a new profile is covered the moment it is added.
"""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from cockpit.profile import load_profile, resolve_profile
from cockpit.profile.lint import lint
from cockpit.profile.models import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.toml"))
EXAMPLES = ["argo-rollouts", "demo", "docker-compose", "kubernetes", "systemd"]

by_file = pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])


def test_the_example_profiles_are_there() -> None:
    assert set(EXAMPLES) <= {p.stem for p in PROFILES}


@by_file
@pytest.mark.parametrize("flags", [(), ("--strict",)], ids=["plain", "strict"])
def test_cockpit_validate_accepts_the_profile(path: Path, flags: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "validate", *flags, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok: {path}: ")
    assert done.stderr == ""


@by_file
def test_profile_is_valid_and_strict_clean(path: Path) -> None:
    profile = load_profile(path)
    assert lint(profile) == []
    assert profile.briefing.mishaps
    assert profile.briefing.contingency.triggers


@by_file
def test_profile_resolves_with_its_variables_set(path: Path) -> None:
    profile = load_profile(path)
    names = {m.group(2) for m in REFERENCE.finditer(path.read_text(encoding="utf-8"))}
    environ = {name: f"value-of-{name.lower()}" for name in names}
    resolved = resolve_profile(profile, environ)
    dumped = resolved.profile.model_dump_json()
    assert "${" not in dumped
    secrets = {
        m.group(2)
        for m in REFERENCE.finditer(path.read_text(encoding="utf-8"))
        if m.group(1) == "env"
    }
    assert set(resolved.secrets) == {environ[name] for name in secrets}


@by_file
def test_profile_keeps_secrets_out_of_argv(path: Path) -> None:
    # The model refuses ${env:...} in argv; this guards the examples against a literal
    # workaround such as a token pasted after "--token".
    profile = load_profile(path)
    argvs = [step.command for _, step in profile.steps()] + list(profile.rollback.commands)
    for argv in argvs:
        for flag, value in pairwise(argv):
            if flag in ("--token", "--password", "--api-key"):
                pytest.fail(f"{path.name}: {flag} {value!r} puts a credential in argv")
