"""Events: the facts a session is made of. The state is a fold of these, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cockpit.engine.kinds import Kind
from cockpit.journal.records import Actor

SYSTEM = Actor(role="cockpit", user="cockpit", tty=None)
"""The actor of decisions the cockpit makes by itself (the 5-minute rule, verdicts)."""

# Kinds that arrive at a high rate and may be batched into one journal record.
SAMPLE = Kind.SAMPLE


@dataclass(frozen=True)
class Event:
    """One fact: what happened, who did it, and when (wall clock, epoch seconds)."""

    kind: str
    body: Mapping[str, Any] = field(default_factory=dict)
    actor: Actor = SYSTEM
    wall: float = 0.0
