"""Strict lint rules from the deployment safety card and the twelve-factor app."""

from __future__ import annotations

import re
from collections.abc import Iterator

from cockpit.profile.models import Profile

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential|authorization|cookie)", re.I
)
_SECRET_VALUE = [
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"),
    re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/-]{16,}"),
]


def _strings(value: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


def lint(profile: Profile) -> list[tuple[str, str]]:
    """Return (where, advice) for each strict rule the profile breaks."""
    found: list[tuple[str, str]] = []
    if len(profile.metrics) < 3:
        found.append(
            (
                "metrics",
                f"only {len(profile.metrics)} stop-point metrics; define 3 to 5 objective checks",
            )
        )
    purposes = {c.purpose for c in profile.checks}
    if "rollback" not in purposes:
        found.append(
            (
                "checks",
                'no rollback dry-run check (purpose = "rollback"); prove the way back before GO',
            )
        )
    if "capacity" not in purposes and not any(
        c.source is not None and c.source.kind == "system" for c in profile.checks
    ):
        found.append(
            ("checks", "no capacity check; add system checks for CPU, memory and disk below 60%")
        )
    for stage in profile.stages:
        for step in stage.steps:
            if step.irreversible and not (step.irreversible_policy or "").strip():
                found.append(
                    (
                        f"step {step.id}",
                        "irreversible step without irreversible_policy; "
                        "say what happens if it fails",
                    )
                )
            if not step.stop_point:
                found.append(
                    (f"step {step.id}", "no stop_point metrics; nothing proves this step worked")
                )
    for where, text in _strings(profile.model_dump(mode="json"), ""):
        if "${env:" in text:
            continue
        leaf = where.rsplit(".", 1)[-1]
        named_secret = _SECRET_KEY.search(leaf) and text.strip()
        if named_secret or any(p.search(text) for p in _SECRET_VALUE):
            found.append((where, "looks like a secret written in the profile; use ${env:NAME}"))
    return found
