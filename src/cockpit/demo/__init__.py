"""The bundled demo service, its deploy/rollback control and a load generator.

Everything here uses the standard library only, so that the service and its control
command start fast and never pull in Textual or pydantic.
"""

from __future__ import annotations
