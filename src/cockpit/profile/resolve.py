"""Resolve ``${env:NAME}`` and ``${var:NAME}`` references at run time.

Secret values (``${env:...}``) are collected so the runner and the journal can redact them.
In the text of a ``shell = true`` command each value is quoted as one word of sh (see
``cockpit.profile.shell``). A value from the environment is data: it is substituted once and
never parsed as a reference again, and no message about the resolved profile prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cockpit.profile.loader import Problem, ProfileError, validation_problems
from cockpit.profile.models import REFERENCE, RESOLVED, Profile
from cockpit.profile.shell import quote
from cockpit.runner.redact import Redactor, remember_secrets

_WHERE = "<environment>"

Part = TypeVar("Part", bound=BaseModel)


@dataclass(frozen=True)
class ResolvedProfile:
    """A profile with every reference replaced, and the secret values it used."""

    profile: Profile
    secrets: tuple[str, ...]


def _walk(
    value: Any,
    environ: Mapping[str, str],
    where: str,
    secrets: set[str],
    missing: list[Problem],
    *,
    shell: bool = False,
) -> Any:
    if isinstance(value, str):

        def substitute(match: Any) -> str:
            kind, name, default = match.group(1), match.group(2), match.group(3)
            found = environ.get(name)
            if found is None:
                if kind == "var" and default is not None:
                    return quote(default) if shell else str(default)
                missing.append(
                    Problem(
                        _WHERE, None, where, f"environment variable {name} is not set; export it"
                    )
                )
                return ""
            if kind == "env" and found:
                secrets.add(found)
            return quote(found) if shell else found

        # One pass: what a reference is replaced with is not read again.
        return REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        # The command text of a step, rollback or command source that runs through sh.
        sh = value.get("shell") is True
        return {
            k: _walk(
                v,
                environ,
                f"{where}.{k}" if where else str(k),
                secrets,
                missing,
                shell=shell or (sh and k in ("command", "commands")),
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _walk(v, environ, f"{where}[{i}]", secrets, missing, shell=shell)
            for i, v in enumerate(value)
        ]
    return value


def resolve_profile(profile: Profile, environ: Mapping[str, str]) -> ResolvedProfile:
    """Substitute references from ``environ``.

    The result is validated again (a value may leave a command empty), but references are not
    looked for in it: a secret that contains ``${`` is a secret, not a typo.

    Raises:
        ProfileError: naming every variable that is not set, and where it is used; or what
            the substituted values break, without the values themselves.
    """
    secrets: set[str] = set()
    missing: list[Problem] = []
    data = _walk(profile.model_dump(mode="json"), environ, "", secrets, missing)
    remember_secrets(secrets)
    if missing:
        raise ProfileError(missing)
    token = RESOLVED.set(True)
    try:
        resolved = Profile.model_validate(data)
    except ValidationError as exc:
        redactor = Redactor(secrets)
        written = profile.model_dump(mode="json")
        problems = [
            Problem(
                _WHERE,
                None,
                p.where,
                redactor.redact(
                    "with the environment's values substituted for"
                    f" {_references_at(written, error['loc']) or 'its references'}: {p.message}"
                ),
            )
            for p, error in zip(
                validation_problems(exc, _WHERE, data=written, show_input=False),
                exc.errors(include_input=False),
                strict=True,
            )
        ]
        raise ProfileError(problems) from None
    finally:
        RESOLVED.reset(token)
    return ResolvedProfile(resolved, tuple(sorted(secrets, key=len, reverse=True)))


def resolve_part(
    part: Part, environ: Mapping[str, str], where: str
) -> tuple[Part, tuple[str, ...]]:
    """One part of a profile (a metric's source) with its references substituted, and the
    secret values it used: a replay reads the Prometheus sources on a machine that need not
    have the secrets of every step.

    Raises:
        ProfileError: a variable it uses is not set, or a substituted value breaks it (the
            message never holds the values).
    """
    secrets: set[str] = set()
    missing: list[Problem] = []
    data = _walk(part.model_dump(mode="json"), environ, where, secrets, missing)
    remember_secrets(secrets)
    if missing:
        raise ProfileError(missing)
    token = RESOLVED.set(True)
    try:
        resolved = type(part).model_validate(data)
    except ValidationError:
        why = "not valid once the environment's values are substituted"
        raise ProfileError([Problem(_WHERE, None, where, why)]) from None
    finally:
        RESOLVED.reset(token)
    return resolved, tuple(sorted(secrets, key=len, reverse=True))


def _references_at(data: Any, loc: tuple[str | int, ...]) -> str:
    """The references written where a validation error points, to name them in its message."""
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            break
    found: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            found.extend(m.group(0) for m in REFERENCE.finditer(value))
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(data)
    return ", ".join(dict.fromkeys(found))
