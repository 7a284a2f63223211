"""The profile models with each field's docstring as its description.

The JSON Schema (``cockpit schema``) and docs/PROFILE.md describe every key with the docstring
written under its field. Reading those docstrings means pydantic parses the models' source
again for every model (``use_attribute_docstrings``): about 0.03 s of every start of every
command, for text nothing at run time shows. So the models used at run time go without, and
:func:`documented_models` builds them a second time, from the same source file, with it on.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from cockpit.profile import models

NAME = "cockpit.profile.documented_models"
"""The second build's module name; ``models`` turns the docstrings on under this name."""


def documented_models() -> ModuleType:
    """``cockpit.profile.models`` built with field descriptions (once per process)."""
    module = sys.modules.get(NAME)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(NAME, models.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module  # pydantic resolves the annotations in this namespace
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[NAME]
        raise
    return module
