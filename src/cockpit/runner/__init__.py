"""Process runner: deploy steps, rollbacks and command checks.

Standard library only (no Textual, no pydantic). See ``process.py`` for
steps and rollbacks (detached, supervised, surviving the cockpit),
``command.py`` for short command checks, ``redact.py`` for secret redaction
and ``tail.py`` for following output files.
"""

from __future__ import annotations

from cockpit.runner.command import CommandResult, run_command
from cockpit.runner.process import (
    AlreadyClaimed,
    ProcessHandle,
    ProcessResult,
    ProcessSpec,
    ProcessStarter,
    SpawnError,
    StandbySupervisor,
    StartedProcess,
    attach,
    reattach,
    result_path_for,
    run_path_for,
    start_process,
)
from cockpit.runner.redact import REDACTED, RedactingStream, Redactor
from cockpit.runner.tail import OutputSource, OutputTail

__all__ = [
    "REDACTED",
    "AlreadyClaimed",
    "CommandResult",
    "OutputSource",
    "OutputTail",
    "ProcessHandle",
    "ProcessResult",
    "ProcessSpec",
    "ProcessStarter",
    "RedactingStream",
    "Redactor",
    "SpawnError",
    "StandbySupervisor",
    "StartedProcess",
    "attach",
    "reattach",
    "result_path_for",
    "run_command",
    "run_path_for",
    "start_process",
]
