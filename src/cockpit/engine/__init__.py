"""The pure engine: intents in, events out, state as a fold of events. No I/O, no clock."""

from __future__ import annotations

from cockpit.engine.events import SYSTEM, Event
from cockpit.engine.rules import Refusal, comparison, decide
from cockpit.engine.state import (
    LOOP_DUTIES,
    Fold,
    Phase,
    State,
    StepStatus,
    apply,
    apply_record,
    apply_sample,
    events_from_records,
    iter_events,
    replay,
)
from cockpit.engine.verdict import Verdict

__all__ = [
    "LOOP_DUTIES",
    "SYSTEM",
    "Event",
    "Fold",
    "Phase",
    "Refusal",
    "State",
    "StepStatus",
    "Verdict",
    "apply",
    "apply_record",
    "apply_sample",
    "comparison",
    "decide",
    "events_from_records",
    "iter_events",
    "replay",
]
