"""``cockpit validate`` and ``cockpit schema``."""

from __future__ import annotations

import argparse
import json
import sys

from cockpit.inert import inert
from cockpit.profile.lint import lint
from cockpit.profile.loader import ProfileError, load_profile


def validate_command(args: argparse.Namespace) -> int:
    """Validate each profile; exit 0 when all are valid, 2 when any is not.

    ``ok:`` lines go to standard output, errors to standard error, as in every command.
    """
    status = 0
    for name in args.profiles:
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            status = 2
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            continue
        if args.strict:
            findings = lint(profile)
            if findings:
                status = 2
                for where, advice in findings:
                    print(inert(f"error: {name}: {where}: {advice} (--strict)"), file=sys.stderr)
                continue
        print(
            inert(
                f"ok: {name}: {profile.deployment.name} ({len(profile.steps())} steps, "
                f"{len(profile.checks)} checks, {len(profile.metrics)} metrics)"
            )
        )
    return status


def schema_command(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the profile format."""
    from cockpit.profile.documented import documented_models

    schema = documented_models().Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cockpit profile v1"
    print(json.dumps(schema, indent=2))
    return 0
