"""The profile: one TOML file per service describing its whole deploy procedure."""

from __future__ import annotations

from cockpit.profile.loader import Problem, ProfileError, load_profile, parse_profile
from cockpit.profile.models import (
    Check,
    Metric,
    Profile,
    Source,
    Step,
    Threshold,
)
from cockpit.profile.resolve import ResolvedProfile, resolve_profile

__all__ = [
    "Check",
    "Metric",
    "Problem",
    "Profile",
    "ProfileError",
    "ResolvedProfile",
    "Source",
    "Step",
    "Threshold",
    "load_profile",
    "parse_profile",
    "resolve_profile",
]
