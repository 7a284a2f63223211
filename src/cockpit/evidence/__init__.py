"""Evidence derived from a session journal alone: the deployment report and its companions.

``write_evidence`` verifies the journal, replays it and writes, atomically, the readiness
checklist, release manifest, approval record, post-deployment validation, health log and
``DEPLOYMENT-REPORT.md``. ``report_markdown`` renders the report from records, for the screen.
No Textual here.
"""

from __future__ import annotations

from cockpit.evidence.model import NotASession, SessionRecord, load_session
from cockpit.evidence.report import report_markdown
from cockpit.evidence.writer import EVIDENCE_FILES, render_evidence, write_evidence

__all__ = [
    "EVIDENCE_FILES",
    "NotASession",
    "SessionRecord",
    "load_session",
    "render_evidence",
    "report_markdown",
    "write_evidence",
]
