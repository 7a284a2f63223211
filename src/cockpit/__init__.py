"""cockpit: run a production deploy or an incident rollback the way a disciplined crew would."""

from __future__ import annotations

__version__ = "0.1.0"
