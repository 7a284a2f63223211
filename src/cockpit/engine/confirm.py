"""Type to confirm: what the dangerous forward path asks a person to type, and whether a typed
answer is the right one.

Three actions ask for a word instead of one key (each can be turned off in the profile's
``[confirm]`` table): acknowledging a point of no return (the service's name, or the
environment's when the step deploys to production), approving a production gate (the
environment's name) and the Monitor's readback of the triggers (a question drawn from them).
R, HOLD and NO-GO never do. The engine checks the answer; the screen asks the question; both
read it here, so they cannot disagree. Pure: no I/O, no clock, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cockpit.durations import DurationError, format_duration, parse_spoken_duration
from cockpit.profile.models import Profile, Stage, Step, is_production_environment

DURATION_SLACK = 0.5
"""Seconds an answered trigger time may differ from the profile's (typing 5:00 for 300 s)."""


@dataclass(frozen=True)
class Ask:
    """What a person must type, and why."""

    kind: Literal["word", "duration", "metric"]
    """A word to copy (shown on screen), a duration, or one metric id among ``answers``."""
    question: str
    """The question, as the dialog shows it (and the record keeps)."""
    expected: str
    """What a right answer is, in words for a refusal. It names the word to copy (service and
    environment names are not secrets), never the answer to a readback question."""
    answers: tuple[str, ...]
    """The right answers: the word, the trigger time (as a profile writes it), or the
    metric ids that are accepted."""
    seconds: float = 0.0
    """The trigger time, for a duration question."""

    def accepts(self, typed: str | None) -> bool:
        """Whether ``typed`` answers it: case and surrounding blanks do not matter."""
        if typed is None or not typed.strip():
            return False
        if self.kind == "duration":
            try:
                return abs(parse_spoken_duration(typed) - self.seconds) <= DURATION_SLACK
            except DurationError:
                return False
        said = _words(typed)
        return any(said == _words(answer) for answer in self.answers)


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _stage_of(profile: Profile, step_id: str) -> tuple[Stage, Step] | None:
    return next(((st, s) for st, s in profile.steps() if s.id == step_id), None)


def irreversible_ask(profile: Profile, step_id: str) -> Ask | None:
    """What acknowledging a point of no return asks to type; None when the step is not
    irreversible or the profile turned it off (``[confirm] irreversible_step = false``)."""
    found = _stage_of(profile, step_id)
    if found is None or not found[1].irreversible or not profile.confirm.irreversible_step:
        return None
    stage, step = found
    if is_production_environment(stage.environment):
        what, word = "the environment's name", stage.environment
    else:
        what, word = "the service's name", profile.deployment.service
    return Ask(
        kind="word",
        question=(
            f"Step {step.id!r} is a POINT OF NO RETURN"
            + (f" ({step.irreversible_policy})" if step.irreversible_policy else "")
            + f". To acknowledge it, type {what}: {word}"
        ),
        expected=f"type {what} {word!r} to acknowledge the point of no return {step.id!r}",
        answers=(word,),
    )


def approval_ask(profile: Profile, step_id: str) -> Ask | None:
    """What approving a production gate asks to type after the approver's name; None for a
    step without a gate, a gate outside production, or when the profile turned it off
    (``[confirm] production_approval = false``)."""
    found = _stage_of(profile, step_id)
    if found is None or found[1].approval is None or not profile.confirm.production_approval:
        return None
    stage, step = found
    if not is_production_environment(stage.environment):
        return None
    env = stage.environment
    return Ask(
        kind="word",
        question=f"Approve step {step.id!r} into {env.upper()}: type the environment's name: {env}",
        expected=f"type the environment's name {env!r} to approve step {step.id!r}",
        answers=(env,),
    )


def readback_ask(profile: Profile) -> Ask | None:
    """The question that closes the loop, drawn from the contingency triggers; None when the
    profile turned it off (``[confirm] readback = false``).

    It asks for the trigger time (the time after a step by which the cockpit rolls back, or
    advises it, by itself). A profile whose trigger time is zero has no such time to read
    back; it asks for the id of a metric that decides a rollback: a stop point's, or, with no
    stop points, one the rollback is verified against.
    """
    if not profile.confirm.readback:
        return None
    contingency = profile.briefing.contingency
    if contingency.trigger_time > 0:
        acts = (
            "roll back by itself"
            if profile.rollback.on_trigger_time == "automatic"
            else "advise a rollback"
        )
        return Ask(
            kind="duration",
            question=(
                f"Close the loop: a step ended and its stop point is not GREEN. After how long"
                f" does the cockpit {acts}?"
            ),
            expected=(
                "the readback asks for the trigger time from the briefing's CONTINGENCY, as a"
                " duration with its unit (minutes, seconds or m:ss)"
            ),
            answers=(format_duration(contingency.trigger_time),),
            seconds=contingency.trigger_time,
        )
    stop = next(((i, s) for i, (_, s) in enumerate(profile.steps()) if s.stop_point), None)
    if stop is not None:
        index, step = stop
        return Ask(
            kind="metric",
            question=(
                f"Close the loop: which metric must be GREEN at the stop point after step"
                f" {index + 1} ({step.id})? Type its id"
            ),
            expected=(
                f"the readback asks for the id of a metric of the stop point after step"
                f" {index + 1} ({step.id})"
            ),
            answers=tuple(step.stop_point),
        )
    return Ask(
        kind="metric",
        question="Close the loop: which metric proves the rollback worked? Type its id",
        expected="the readback asks for the id of a metric the rollback is verified against",
        answers=tuple(profile.rollback.verify.metrics),
    )


def confirmations_off(profile: Profile) -> list[str]:
    """The type-to-confirm actions the profile turned off, in words (for the report)."""
    c = profile.confirm
    names = (
        (c.irreversible_step, "acknowledging a point of no return (i)"),
        (c.production_approval, "approving a production gate (p)"),
        (c.readback, "the Monitor's readback of the triggers (t)"),
    )
    return [name for on, name in names if not on]
