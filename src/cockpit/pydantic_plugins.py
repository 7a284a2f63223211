"""Pydantic in the cockpit's own process runs no plugins, and never looks for any.

Why: the first schema validator pydantic builds (the first model class, at import) asks
``pydantic.plugin._loader.get_plugins()`` for the plugins of the ``pydantic`` entry-point
group. That module imports ``importlib.metadata`` at its top, which brings ``csv`` and
``zipfile`` with it, and then reads the entry points of every installed distribution. Measured
in the cockpit after a 200k-line flood (``benchmarks/ui_log_flood.py``, with and without the
lookup): 0.8-1.0 MB more resident memory, to find nothing. A plugin found there would also see
every profile and attach message the cockpit validates, and run inside the process that must
answer R.

Pydantic's documented switch, ``PYDANTIC_DISABLE_PLUGINS``, does not help here: it is read from
the environment at each validator pydantic builds, so it would have to stay set, and every
step, rollback and check the cockpit starts inherits that environment; and it is read inside
the loader, whose import is most of the cost. So the loader's module is stood in for by one
whose ``get_plugins()`` answers what the loader answers when plugins are disabled: none. Each
module that makes pydantic models calls :func:`skip_lookup` before its first one, so a process
of the cockpit that never uses pydantic (the runner, the journal) holds no such stand-in.
Pydantic 2 imports ``get_plugins`` from that module each time it builds a validator (2.14 here,
and the earlier 2.x sources read); should a release look elsewhere, or no longer look,
``tests/unit/test_lean_imports.py`` says so.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable

LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


def skip_lookup() -> None:
    """Stand in for pydantic's plugin loader in this process, unless it was imported already
    (then whoever imported it first has looked up the plugins: nothing is left to save)."""
    if LOADER in sys.modules:
        return
    stand_in = types.ModuleType(LOADER, "pydantic's plugin loader, finding no plugins.")
    stand_in.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = stand_in
