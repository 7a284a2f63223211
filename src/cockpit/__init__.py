"""cockpit: run a production deploy or an incident rollback the way a disciplined crew would."""

from __future__ import annotations

from cockpit import pydantic_plugins

__version__ = "0.1.0"

# First, before any part of the cockpit imports pydantic (see cockpit.pydantic_plugins).
pydantic_plugins.skip_lookup()
