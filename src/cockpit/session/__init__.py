"""A live session, in parts that name their jobs.

- ``record``: the pipeline every intent goes through (decide, record, apply, announce);
- ``processes``: the effects (step and rollback processes) and their reconciliation with
  what the journal recorded;
- ``loops``: the probe, checklist and clock loops, under a guard that never lets one stop
  unseen;
- ``opening``: opening a new session or resuming one from its journal;
- ``crew``: who is in which role;
- ``live``: the :class:`Session` that puts them together.
"""

from __future__ import annotations

from cockpit.profile import ProfileError
from cockpit.session.crew import Crew
from cockpit.session.live import EvidenceWriter, Session
from cockpit.session.processes import RunningProcess

__all__ = ["Crew", "EvidenceWriter", "ProfileError", "RunningProcess", "Session"]
