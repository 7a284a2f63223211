"""Profile format v1: the whole procedure for one service, as frozen pydantic models.

A profile is data, validated once when it is loaded; everything else in the cockpit receives
these objects, never raw dictionaries. Strings may hold references resolved at run time:

* ``${env:NAME}``: a secret from the environment. Its value is redacted everywhere and it may
  not appear in a command's argv (other users can read ``/proc/PID/cmdline``).
* ``${var:NAME}`` or ``${var:NAME:-default}``: a plain setting from the environment, shown as
  it is.

References live in text: commands and their environment, URLs, queries, headers, paths, the
briefing's words. Numbers, durations, booleans and ids are read when the profile loads, before
any reference is resolved, so a reference there is refused with its place named.
"""

from __future__ import annotations

import math
import re
from contextvars import ContextVar
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cockpit import pydantic_plugins
from cockpit.durations import DurationError, format_duration, parse_duration

pydantic_plugins.skip_lookup()  # before the first model here (see cockpit.pydantic_plugins)

PROFILE_VERSION = 1

# The most metrics, readiness checks and steps (in all stages) a profile may have, measured
# with benchmarks/ui_scale.py: up to these a key answers as fast as with 8 metrics and idle
# CPU stays within a few percent of a core; 10,000 metrics took 7.6 s to paint and 16 s a key.
MAX_METRICS = 64
MAX_CHECKS = 32
MAX_STEPS = 32

# A default may not hold another reference: ``${var:U:-${env:S}}`` would resolve to a secret
# reference where no secret may go (argv).
REFERENCE = re.compile(r"\$\{(env|var):([A-Za-z_][A-Za-z0-9_]*)(?::-((?:(?!\$\{)[^}])*))?\}")
_ANY_REFERENCE = re.compile(r"\$\{[^}]*\}")
RESOLVED: ContextVar[bool] = ContextVar("cockpit_profile_resolved", default=False)
"""True while a profile with its references substituted is validated (``resolve.py``): its
values are data and are never parsed as references again."""
_ID = r"^[a-z0-9][a-z0-9_.-]*$"


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("write durations as a string with a unit, e.g. '90s', '5m' or '1h30m'")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d+(\.\d+)?(ms|h|m|s))+$",
            "description": "A duration such as '90s', '5m' or '1h30m'.",
        }
    ),
]
"""Seconds, written in the profile as a string with units."""

Identifier = Annotated[str, Field(pattern=_ID, min_length=1, max_length=64)]
"""A short id: lower-case letters, digits, '-', '_' or '.'."""

RoleName = Literal["operator", "monitor", "approver"]


_DOCUMENTED = __name__ == "cockpit.profile.documented_models"
"""Whether this is the build for the schema and the docs (see ``cockpit.profile.documented``):
only that one reads the docstrings under the fields into their descriptions."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # No coercion: "8080" is not a port and "no" is not false. Integers are accepted
        # where a float is expected.
        strict=True,
        allow_inf_nan=False,
        use_attribute_docstrings=_DOCUMENTED,
        str_strip_whitespace=False,
    )


def check_references(text: str) -> str:
    """Reject malformed ``${...}`` references so typos fail at load time, not at 3 a.m."""
    if RESOLVED.get():
        return text
    for match in _ANY_REFERENCE.finditer(text):
        if not REFERENCE.fullmatch(match.group(0)):
            raise ValueError(
                f"bad reference {match.group(0)!r}: write ${{env:NAME}} for a secret or "
                "${var:NAME} / ${var:NAME:-default} for a plain setting"
            )
    return text


def _nonempty_argv(argv: list[str]) -> list[str]:
    if not argv or not argv[0].strip():
        raise ValueError("the command is empty; give the program and its arguments as a list")
    if RESOLVED.get():
        return argv
    for arg in argv:
        check_references(arg)
        if any(m.group(1) == "env" for m in REFERENCE.finditer(arg)):
            raise ValueError(
                f"secret reference in argv ({arg!r}): other users can read a process's "
                "arguments; pass the secret through the step's env table instead"
            )
    return argv


def _shell_command(argv: list[str], shell: bool) -> None:
    # The runner starts a shell step as /bin/sh -c argv[0]; refuse here what it would refuse.
    if shell and len(argv) != 1:
        raise ValueError(
            f"shell = true runs one command string through /bin/sh -c, but the command has"
            f" {len(argv)} elements; write it as one string, or drop shell = true"
        )


def _positive(seconds: float) -> float:
    # The runner refuses a deadline of zero; so does validate.
    if not seconds > 0:
        raise ValueError("the timeout must be more than zero, e.g. '30s'")
    return seconds


class Threshold(_Model):
    """Where a value must lie to PASS: exactly one of below, above or between."""

    below: float | None = None
    """PASS when the value is strictly below this."""
    above: float | None = None
    """PASS when the value is strictly above this."""
    between: list[float] | None = Field(default=None, min_length=2, max_length=2)
    """PASS when low <= value <= high, written [low, high]."""

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        given = [n for n in ("below", "above", "between") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of below, above or between")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between = [low, high] needs low <= high")
        return self

    def passes(self, value: float) -> bool:
        """Whether a finite value lies inside the threshold."""
        if not math.isfinite(value):
            return False
        if self.below is not None:
            return value < self.below
        if self.above is not None:
            return value > self.above
        assert self.between is not None
        return self.between[0] <= value <= self.between[1]

    def describe(self, unit: str = "") -> str:
        """The threshold in words, e.g. ``< 2 %``."""
        u = f" {unit}" if unit else ""
        if self.below is not None:
            return f"< {self.below:g}{u}"
        if self.above is not None:
            return f"> {self.above:g}{u}"
        assert self.between is not None
        return f"{self.between[0]:g}–{self.between[1]:g}{u}"


# ---------------------------------------------------------------- sources


class SystemSource(_Model):
    """Host capacity from psutil, measured over several samples so 'stable' means something."""

    kind: Literal["system"]
    """Source type."""
    resource: Literal["cpu", "memory", "disk", "load"]
    """cpu and memory and disk in percent used; load is the 1-minute load per core."""
    path: str = "/"
    """Filesystem path whose disk usage is measured (resource = disk)."""
    samples: int = Field(default=3, ge=1, le=60)
    """How many readings make one measurement."""
    window: Duration = 2.0
    """Time over which the readings are spread."""
    stable_within: float = Field(default=15.0, ge=0)
    """Largest spread (max - min) of the readings for the value to count as stable."""


class HttpSource(_Model):
    """An HTTP endpoint: status, latency, a number at a JSON path, text in the body."""

    kind: Literal["http"]
    """Source type."""
    url: str
    """Full URL, e.g. http://127.0.0.1:8477/readyz."""
    method: Literal["GET", "HEAD", "POST"] = "GET"
    """HTTP method."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers; use ${env:NAME} for tokens."""
    expect_status: list[int] = Field(default_factory=lambda: [200])
    """Status codes that count as success."""
    json_path: str | None = None
    """Dotted path to a number in a JSON body (e.g. window.error_rate_pct); the value measured."""
    body_contains: str | None = None
    """Text the body must contain."""
    verify_tls: bool = True
    """Verify TLS certificates."""

    _refs = field_validator("url", "json_path", "body_contains")(
        lambda v: check_references(v) if isinstance(v, str) else v
    )


class PrometheusSource(_Model):
    """An instant PromQL query through the Prometheus HTTP API; it must reduce to one value."""

    kind: Literal["prometheus"]
    """Source type."""
    url: str
    """Base URL of the Prometheus server, e.g. http://127.0.0.1:9090."""
    query: str = Field(min_length=1)
    """PromQL expression returning a scalar or a single-series vector."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers; use ${env:NAME} for tokens."""

    _refs = field_validator("url", "query")(check_references)


class CommandSource(_Model):
    """A command: PASS on the expected exit status; optionally a number read from stdout."""

    kind: Literal["command"]
    """Source type."""
    command: list[str]
    """Program and arguments (argv); no shell unless shell = true."""
    shell: bool = False
    """Run command[0] through /bin/sh -c (shown on screen)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment for the command; values may be ${env:NAME} secrets."""
    expect_exit: int = 0
    """Exit status that counts as success."""
    value_regex: str | None = None
    """Regular expression with one group: the number measured from stdout."""

    @field_validator("command")
    @classmethod
    def _argv(cls, v: list[str]) -> list[str]:
        return _nonempty_argv(v)

    @model_validator(mode="after")
    def _shell(self) -> CommandSource:
        _shell_command(self.command, self.shell)
        return self

    @field_validator("value_regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compiled = re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
            if compiled.groups != 1:
                raise ValueError("value_regex needs exactly one group around the number")
        return v


class FileAgeSource(_Model):
    """Evidence that a file was produced recently, e.g. smoke tests passed today."""

    kind: Literal["file_age"]
    """Source type."""
    path: str
    """File whose modification time is the evidence."""
    max_age: Duration | None = None
    """Oldest acceptable age."""
    today: bool = False
    """Require the file to have been written today (local date)."""

    @model_validator(mode="after")
    def _rule(self) -> FileAgeSource:
        if self.max_age is None and not self.today:
            raise ValueError("give max_age (e.g. '24h') or today = true")
        return self


class ArtifactSource(_Model):
    """The artifact about to ship matches what was approved (digest or tag)."""

    kind: Literal["artifact"]
    """Source type."""
    expected: str | None = None
    """Approved digest or tag; defaults to deployment.artifact's digest or tag."""
    from_command: list[str] | None = None
    """Command whose trimmed stdout is the actual digest or tag."""
    from_file: str | None = None
    """File whose sha256 (as sha256:HEX) is the actual digest."""

    @model_validator(mode="after")
    def _one_way(self) -> ArtifactSource:
        if (self.from_command is None) == (self.from_file is None):
            raise ValueError("give exactly one of from_command or from_file")
        if self.from_command is not None:
            _nonempty_argv(self.from_command)
        return self


class EnvCatalogSource(_Model):
    """12-factor: declared variables vs the example file vs the environment."""

    kind: Literal["env_catalog"]
    """Source type."""
    declared: list[str]
    """Variables the service needs."""
    example_file: str | None = None
    """Path of the .env.example listing the variables; orphans and missing ones FAIL."""
    allow_empty: list[str] = Field(default_factory=list)
    """Variables that may be set to an empty string."""


class TcpSource(_Model):
    """A TCP port accepts connections."""

    kind: Literal["tcp"]
    """Source type."""
    host: str
    """Host name or address."""
    port: int = Field(ge=1, le=65535)
    """Port number."""


Source = Annotated[
    SystemSource
    | HttpSource
    | PrometheusSource
    | CommandSource
    | FileAgeSource
    | ArtifactSource
    | EnvCatalogSource
    | TcpSource,
    Field(discriminator="kind"),
]
"""Where a check or a metric gets its value."""


# ---------------------------------------------------------------- checks and metrics


class ManualCheck(_Model):
    """A check a person confirms: the prompt and the role that must confirm it."""

    prompt: str = Field(min_length=1)
    """What the person verifies, as a yes/no question."""
    role: RoleName
    """Which role confirms it."""


class Check(_Model):
    """A readiness check: automated (source) or confirmed by a person (manual)."""

    id: Identifier
    """Unique id, used in the record."""
    title: str = Field(min_length=1)
    """Short title shown in the checklist."""
    timeout: Duration = 10.0
    """Total deadline of one run of the check."""
    source: Source | None = None
    """How the check is measured (automated checks)."""
    threshold: Threshold | None = None
    """Where the measured value must lie (for sources that measure a number)."""
    manual: ManualCheck | None = None
    """The prompt and role (manual checks)."""
    purpose: (
        Literal["rollback", "capacity", "monitoring", "smoke", "artifact", "access", "other"] | None
    ) = None
    """What the check proves; used by the strict lint to find missing safety checks."""
    gates: list[Literal["deploy", "rollback"]] | None = Field(default=None, min_length=1)
    """What the check guards: "deploy" (it must be GREEN for the GO call) and "rollback" (it
    runs in an incident, beside R, and informs without ever blocking it). Not set: every
    check guards the deploy, and the rollback dry run and access checks (purpose "rollback"
    or "access") also guard the rollback."""

    @model_validator(mode="after")
    def _automated_or_manual(self) -> Check:
        if (self.source is None) == (self.manual is None):
            raise ValueError("give exactly one of [checks.source] (automated) or manual")
        needs_threshold = self.source is not None and self.source.kind in ("system", "prometheus")
        if needs_threshold and self.threshold is None:
            assert self.source is not None
            raise ValueError(f"a {self.source.kind} check needs a threshold")
        return self

    def guards(self, gate: Literal["deploy", "rollback"]) -> bool:
        """Whether this check guards ``gate`` (see ``gates``)."""
        if self.gates is not None:
            return gate in self.gates
        return gate == "deploy" or self.purpose in ("rollback", "access")


class Metric(_Model):
    """A stop-point metric, sampled continuously, with limits in the style of Argo Rollouts."""

    id: Identifier
    """Unique id, referenced by steps, the health window and rollback verification."""
    title: str = Field(min_length=1)
    """Short title shown in the monitor pane: in full up to 24 characters, cut after that."""
    source: Source
    """Where the value comes from."""
    unit: str = ""
    """Unit shown after the value (%, ms, req/s ...)."""
    threshold: Threshold
    """Where the value must lie to PASS."""
    interval: Duration = 1.0
    """Time between samples."""
    timeout: Duration = 5.0
    """Total deadline of one sample."""
    staleness: Duration = 10.0
    """A value older than this is stale and never counts as PASS."""
    pass_count: int = Field(default=3, ge=1)
    """Consecutive fresh PASS samples needed for the stop point to be GREEN."""
    failure_limit: int = Field(default=0, ge=0)
    """FAIL samples allowed within a stop point; one more FAILs it."""
    consecutive_error_limit: int = Field(default=4, ge=0)
    """ERROR samples allowed in a row; one more FAILs the stop point."""
    inconclusive: Literal["hold", "fail"] = "hold"
    """What an INCONCLUSIVE sample does: hold for a human, or count as a failure."""

    @model_validator(mode="after")
    def _sane_times(self) -> Metric:
        if self.interval <= 0:
            raise ValueError("interval must be more than zero")
        if self.staleness < self.interval:
            raise ValueError("staleness must be at least the sample interval")
        return self


# ---------------------------------------------------------------- procedure


class Artifact(_Model):
    """What is shipped and what was approved."""

    name: str = Field(min_length=1)
    """Artifact name, e.g. an image repository."""
    digest: str | None = None
    """Approved content digest, e.g. sha256:...."""
    tag: str | None = None
    """Approved tag or version."""

    @model_validator(mode="after")
    def _digest_or_tag(self) -> Artifact:
        if self.digest is None and self.tag is None:
            raise ValueError("give the approved digest or tag")
        return self


class Deployment(_Model):
    """What is deployed, where, and who owns it."""

    name: str = Field(min_length=1)
    """Name of this deployment procedure."""
    service: str = Field(min_length=1)
    """The service being deployed."""
    environments: list[str] = Field(min_length=1)
    """Environments in order, e.g. ["staging", "production"]."""
    artifact: Artifact
    """The artifact and its approved identity."""
    owner: str = Field(min_length=1)
    """Owning team or person."""


class Contingency(_Model):
    """The exact conditions that mandate rollback, and plan B."""

    triggers: list[str] = Field(min_length=1)
    """Rollback triggers in words; the Monitor reads them back before GO."""
    trigger_time: Duration = 300.0
    """Not GREEN by this long after a step ends: roll back (the 5-minute rule)."""
    alternate: str = Field(min_length=1)
    """The alternate plan if rolling back is not possible."""


class Briefing(_Model):
    """AIM-C: aim, intent, mishaps, contingency."""

    aim: str = Field(min_length=1)
    """What is being shipped and why."""
    intent: str = Field(min_length=1)
    """The plan: steps, who executes, with which tools."""
    mishaps: list[str] = Field(min_length=2)
    """The two or three likeliest ways this fails."""
    contingency: Contingency
    """Rollback triggers and the alternate plan."""


class Roles(_Model):
    """Who holds which role. Names may be left empty and given when the session starts."""

    operator: str = ""
    """The person who runs the commands."""
    monitor: str = ""
    """The person who verifies each command and watches the metrics."""
    approvers: list[str] = Field(default_factory=list)
    """People who may approve gated steps."""
    two_person_rule: bool = True
    """The operator and the monitor must be two different people."""

    @model_validator(mode="after")
    def _two_people(self) -> Roles:
        # The names a session starts with (cockpit.session: empty means "operator" or
        # "monitor"), held to the rule the session's start holds them to.
        operator = (self.operator or "operator").strip()
        monitor = (self.monitor or "monitor").strip()
        if not operator or not monitor:
            raise ValueError("a role name is only blanks; give a name or leave it empty")
        if self.two_person_rule and operator.casefold() == monitor.casefold():
            raise ValueError(
                f"two-person rule: {operator} cannot be both operator and monitor;"
                " name a second person, or set two_person_rule = false"
            )
        return self


class Step(_Model):
    """One command of the procedure."""

    id: Identifier
    """Unique id."""
    title: str = Field(min_length=1)
    """What the step does, in words."""
    command: list[str]
    """Program and arguments (argv); no shell unless shell = true."""
    shell: bool = False
    """Run command[0] through /bin/sh -c (the screen shows it)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment; values may be ${env:NAME} secrets."""
    timeout: Duration = 600.0
    """Deadline; then SIGTERM to the process group, a grace period, SIGKILL."""
    stop_point: list[Identifier] = Field(default_factory=list)
    """Metric ids that must be GREEN before the next step."""
    approval: RoleName | None = None
    """Role whose recorded approval is required before this step runs."""
    irreversible: bool = False
    """A point of no return: flagged on screen before it runs."""
    irreversible_policy: str | None = None
    """What happens if it fails: its own rollback, or why forward-fix only."""

    @field_validator("command")
    @classmethod
    def _argv(cls, v: list[str]) -> list[str]:
        return _nonempty_argv(v)

    _timeout = field_validator("timeout")(_positive)

    @model_validator(mode="after")
    def _shell(self) -> Step:
        _shell_command(self.command, self.shell)
        return self


class Stage(_Model):
    """A group of steps against one environment."""

    name: str = Field(min_length=1)
    """Stage name, e.g. staging or production."""
    environment: str = Field(min_length=1)
    """Environment this stage deploys to; one of deployment.environments."""
    steps: list[Step] = Field(min_length=1)
    """The steps, in order."""


class RollbackVerify(_Model):
    """How a rollback is proven: the metrics back at their baseline.

    A verified metric is back when it has `pass_count` fresh PASS samples in a row (none older
    than its `staleness`), each inside the metric's threshold and within the tolerance of its
    baseline, or better than the baseline in the threshold's direction (lower for `below`,
    higher for `above`). A deploy takes the baseline at GO. An incident takes it from the
    metric's own history: the mean over `[history] baseline_window` before the first RED
    stretch (or before `--baseline-at`); a metric without history there is verified against
    its threshold alone, and the screen and the report say so. When the time is up, a metric
    that is not back is named with the condition it fails: its threshold, its baseline, the
    passes in a row, or a stale sample."""

    metrics: list[Identifier] = Field(min_length=1)
    """Metric ids compared with their baseline."""
    tolerance_pct: float = Field(default=20.0, ge=0)
    """Allowed difference from the baseline, in percent of the baseline."""
    tolerance_abs: dict[str, float] = Field(default_factory=dict)
    """Allowed absolute difference per metric id (used when larger than the relative one)."""
    within: Duration = 60.0
    """How long after the rollback commands the metrics have to be back; then NOT VERIFIED."""


class Rollback(_Model):
    """The way back: commands, trigger policy and verification."""

    commands: list[list[str]] = Field(min_length=1)
    """Commands run in order (argv lists)."""
    shell: bool = False
    """Run each command[0] through /bin/sh -c."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment; values may be ${env:NAME} secrets."""
    timeout: Duration = 300.0
    """Deadline for each command."""
    on_failed_stop_point: Literal["automatic", "prompt"] = "automatic"
    """A FAILED stop point or health window: roll back at once, or advise and wait for R."""
    on_trigger_time: Literal["automatic", "prompt"] = "automatic"
    """Not GREEN by the contingency trigger time: roll back at once, or advise."""
    verify: RollbackVerify
    """How the rollback is verified."""

    @field_validator("commands")
    @classmethod
    def _argvs(cls, v: list[list[str]]) -> list[list[str]]:
        for argv in v:
            _nonempty_argv(argv)
        return v

    _timeout = field_validator("timeout")(_positive)

    @model_validator(mode="after")
    def _shell(self) -> Rollback:
        for argv in self.commands:
            _shell_command(argv, self.shell)
        return self


class Health(_Model):
    """The health window (soak) after the last step."""

    duration: Duration = 120.0
    """How long the metrics must stay inside thresholds."""
    metrics: list[Identifier] = Field(default_factory=list)
    """Metric ids watched; empty means every metric."""


MAX_HISTORY_POINTS = 11_000
"""Prometheus refuses a range query of more points per series than this."""


class History(_Model):
    """What the Prometheus metrics did before the cockpit opened: their sparklines start with
    it (drawn apart from live samples), and an incident takes its baseline from it. Read once
    when a cockpit opens, after the first frame; a failure is shown and never blocks anything.
    Metrics from other sources have no history (the screen says so). ``cockpit replay`` reads
    it too, over the whole session and ``window`` before it."""

    window: Duration = 900.0
    """How far back the history reaches (a replay: how far before the session's first
    record)."""
    step: Duration | None = None
    """Time between history points; default: the window / 300, at least 1 s (the sparkline
    and the start of a RED stretch are as precise as this). At most 11,000 points."""
    timeout: Duration = 10.0
    """Total deadline of one metric's history query, from connecting to the last byte."""
    baseline_window: Duration = 60.0
    """In an incident, a metric's baseline is the mean of its history over this long before
    the incident began (or before --baseline-at)."""

    @model_validator(mode="after")
    def _sane(self) -> History:
        if self.window <= 0 or self.timeout <= 0 or self.baseline_window <= 0:
            raise ValueError("window, timeout and baseline_window must be more than zero")
        if self.step is not None:
            if self.step <= 0:
                raise ValueError("step must be more than zero")
            if self.window / self.step > MAX_HISTORY_POINTS:
                raise ValueError(
                    f"window / step is {self.window / self.step:,.0f} points; Prometheus "
                    f"answers at most {MAX_HISTORY_POINTS:,}: make the step larger"
                )
        return self

    def resolution(self) -> float:
        """The step of the history query: as given, or the window / 300 (at least 1 s)."""
        if self.step is not None:
            return self.step
        return max(1.0, self.window / 300)


class Announce(_Model):
    """Where status announcements go besides the screen and the record."""

    webhook: str | None = None
    """URL that receives a JSON POST per announcement; use ${env:NAME}."""

    _refs = field_validator("webhook")(lambda v: check_references(v) if v else v)


_OS_USER = r"^[a-z_][a-z0-9_-]{0,31}$"
OsUser = Annotated[str, Field(pattern=_OS_USER)]
"""An OS user name as ``useradd`` accepts it (lower case, at most 32 characters)."""


class Crew(_Model):
    """The crew's OS users: who may join the session from their own terminal
    (``cockpit attach``), and as what. With this table the two-person rule is held by
    identity: every action carries the OS user who took it, and one OS user cannot act as
    both Operator and Monitor."""

    operator: OsUser | None = None
    """OS user of the Operator; the session must be opened by this user (empty: whoever
    opens it is the Operator)."""
    monitor: OsUser | None = None
    """OS user of the Monitor, who joins with ``cockpit attach --role monitor``."""
    observers: list[OsUser] = Field(default_factory=list, max_length=64)
    """OS users who may join read-only (``cockpit attach --role observer``)."""
    single_operator: bool = False
    """One OS user may act as both Operator and Monitor. Explicit, and said on the screen and
    in the report at every step it matters."""

    @model_validator(mode="after")
    def _two_identities(self) -> Crew:
        if self.single_operator:
            return self
        if self.operator is not None and self.operator == self.monitor:
            raise ValueError(
                f"two-person rule: OS user {self.operator} cannot be both operator and"
                " monitor; name a second user, or set single_operator = true"
            )
        return self


class Lock(_Model):
    """The deploy lock: one crew acts on a service (and environment) at a time."""

    backend: Literal["file", "etcd"] = "file"
    """Where the lock lives: a lock file on this host, or etcd (for several hosts)."""
    directory: str | None = None
    """File backend: the directory of the lock files. Default: the host's cockpit directory
    (``$COCKPIT_RUNTIME_DIR`` or ``/run/cockpit`` when it exists), else ``locks`` in the
    sessions directory."""
    endpoints: list[str] = Field(default_factory=list, max_length=16)
    """etcd: client URLs, e.g. ["https://etcd-1:2379"]; tried in order."""
    prefix: str = Field(default="/cockpit/locks/", min_length=1, max_length=200)
    """etcd: the key prefix of the locks."""
    ttl: Duration = 10.0
    """etcd: the lease's time to live; the session renews it every third of it. A holder
    that dies loses the lock this long after."""
    timeout: Duration = 2.0
    """etcd: total deadline of one request."""
    ca_file: str | None = None
    """etcd: CA certificate (PEM) that signs the server's certificate."""
    cert_file: str | None = None
    """etcd: client certificate (PEM), for servers that require one."""
    key_file: str | None = None
    """etcd: the client certificate's private key (PEM)."""

    _timeout = field_validator("timeout")(_positive)

    @model_validator(mode="after")
    def _backend(self) -> Lock:
        if self.backend == "etcd" and not self.endpoints:
            raise ValueError('the etcd backend needs endpoints, e.g. ["http://127.0.0.1:2379"]')
        for url in self.endpoints:
            check_references(url)
            if not RESOLVED.get() and not re.match(r"^(https?://|\$\{)", url):
                raise ValueError(f"etcd endpoint {url!r}: write it as http://host:port")
        if self.ttl < 2:
            raise ValueError("the lease ttl must be at least 2s (it is renewed every third)")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together")
        return self


class Confirm(_Model):
    """Type to confirm: the dangerous forward path asks for a typed word, not one key. R,
    HOLD and NO-GO never do. Each can be turned off; the screen then keeps its one key and
    the report says which confirmations were off."""

    irreversible_step: bool = True
    """Acknowledging a point of no return (i) asks to type the service name, or the
    environment's name when the step deploys to production."""
    production_approval: bool = True
    """Approving a gated step that deploys to production (p) asks, after the approver's
    name, to type the environment's name."""
    readback: bool = True
    """The Monitor's readback (t) answers a question drawn from the contingency triggers
    instead of pressing one key: the trigger time (5m, 5:00, 300s and 5 min all do), or,
    when the trigger time is zero, the id of a stop-point metric. In an incident the readback
    stays one key: it happens beside R and never in front of it."""


_LIMITS = {
    "checks": ("checks", MAX_CHECKS, "merge checks, or split the procedure into profiles"),
    "metrics": ("metrics", MAX_METRICS, "aggregate series (sum() or max()), or split the profile"),
    "stages": ("steps in all", MAX_STEPS, "split the procedure into several profiles"),
}


class Profile(_Model):
    """A deploy procedure for one service (profile format v1)."""

    version: Literal[1] = 1
    """Profile format version."""
    deployment: Deployment
    """What is deployed, where, by whom."""
    briefing: Briefing
    """The AIM-C briefing."""
    roles: Roles = Roles()
    """Who holds which role."""
    checks: list[Check] = Field(default_factory=list)
    """Readiness checks that must all PASS before GO."""
    checks_valid_for: Duration = 120.0
    """How long a check's PASS counts for GO; older results are measured again first."""
    metrics: list[Metric] = Field(default_factory=list)
    """Stop-point metrics."""
    stages: list[Stage] = Field(min_length=1)
    """The stages and their steps, in order."""
    rollback: Rollback
    """The way back."""
    health: Health = Health()
    """The health window after the last step (in an incident: the stabilization window after
    a verified rollback)."""
    history: History = History()
    """The metrics' history when a cockpit opens."""
    evidence_dir: str | None = None
    """Where evidence files go (default: beside the session journal)."""
    announce: Announce = Announce()
    """Status announcements."""
    crew: Crew | None = None
    """The crew's OS users, for joining from their own terminals (see [crew])."""
    lock: Lock = Lock()
    """The deploy lock (see [lock])."""
    confirm: Confirm = Confirm()
    """Which actions ask for a typed word (see [confirm])."""

    @model_validator(mode="after")
    def _references(self) -> Profile:
        check_ids = [c.id for c in self.checks]
        metric_ids = [m.id for m in self.metrics]
        step_ids = [s.id for st in self.stages for s in st.steps]
        for label, ids in (("check", check_ids), ("metric", metric_ids), ("step", step_ids)):
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    raise ValueError(f"duplicate {label} id {i!r}; ids must be unique")
                seen.add(i)
        known = set(metric_ids)

        def need(where: str, ids: list[str]) -> None:
            for i in ids:
                if i not in known:
                    raise ValueError(
                        f"{where} refers to unknown metric {i!r}; known: "
                        f"{', '.join(sorted(known)) or 'none (add [[metrics]])'}"
                    )

        for stage in self.stages:
            if stage.environment not in self.deployment.environments:
                raise ValueError(
                    f"stage {stage.name!r} uses environment {stage.environment!r}, which is not "
                    f"in deployment.environments {self.deployment.environments}"
                )
            for step in stage.steps:
                need(f"step {step.id!r} stop_point", step.stop_point)
        crew = self.crew
        if crew is not None and self.roles.two_person_rule and not crew.single_operator:
            if crew.monitor is None:
                raise ValueError(
                    "[crew] under the two-person rule needs the Monitor's OS user"
                    ' (monitor = "grace"), or single_operator = true'
                )
        need("rollback.verify.metrics", self.rollback.verify.metrics)
        need("health.metrics", self.health.metrics)
        for key in self.rollback.verify.tolerance_abs:
            need("rollback.verify.tolerance_abs", [key])
        return self

    @field_validator("checks", "metrics", "stages")
    @classmethod
    def _not_too_many(cls, items: list[Any], info: ValidationInfo) -> list[Any]:
        what, limit, fix = _LIMITS[str(info.field_name)]
        count = sum(len(s.steps) for s in items) if info.field_name == "stages" else len(items)
        if count > limit:
            raise ValueError(f"{count} {what}: the cockpit supports at most {limit}; {fix}")
        return items

    # ------------------------------------------------------------ helpers

    @cached_property
    def metrics_by_id(self) -> dict[str, Metric]:
        """Every metric by its id (built once: judging a sample looks metrics up by id)."""
        return {m.id: m for m in self.metrics}

    def metric(self, metric_id: str) -> Metric:
        """The metric with this id.

        Raises:
            KeyError: no metric has this id.
        """
        return self.metrics_by_id[metric_id]

    def steps(self) -> list[tuple[Stage, Step]]:
        """Every step with its stage, in order."""
        return [(stage, step) for stage in self.stages for step in stage.steps]

    def health_metrics(self) -> list[str]:
        """Metric ids watched during the health window."""
        return list(self.health.metrics) or [m.id for m in self.metrics]

    def is_production(self) -> bool:
        """Whether any stage deploys to an environment called production (or prod)."""
        return any(is_production_environment(s.environment) for s in self.stages)


def is_production_environment(name: str) -> bool:
    """Whether an environment is production: called production (or prod)."""
    return name.lower() in ("production", "prod")
