"""``${var:}`` values in ``shell = true`` commands reach ``/bin/sh`` as one literal word.

Every case runs the resolved text through a real ``/bin/sh -c`` (the runner's own form), in
a directory of its own: a payload that ran leaves a file called ``pwned``; the words the
command saw are written to ``words``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.profile import ProfileError, load_profile, resolve_profile
from cockpit.profile.models import Profile
from cockpit.profile.shell import misplaced_reference

PRINT_WORDS = "printf '<%s>\\n' {words} > words"
"""Shell text that writes each word it is given on a line of the file ``words``."""

PAYLOADS = [
    "; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "| tee pwned",
    "&& touch pwned",
    "\ntouch pwned",
    "' ; touch pwned ; '",
    "*",
]


def profile_text(
    *,
    step: str,
    rollback: str = "true",
    check: str = "true",
    metric: str = "true",
    shell: bool = True,
) -> dict[str, Any]:
    """A small valid profile whose step, rollback, check and metric run these shell texts."""
    return {
        "version": 1,
        "deployment": {
            "name": "web v2",
            "service": "web",
            "environments": ["production"],
            "owner": "team-web",
            "artifact": {"name": "web", "tag": "v2"},
        },
        "briefing": {
            "aim": "Ship web v2.",
            "intent": "The Operator runs one step.",
            "mishaps": ["v2 fails", "v2 is slow"],
            "contingency": {"triggers": ["errors"], "alternate": "restart v1 by hand"},
        },
        "checks": [
            {
                "id": "ready",
                "title": "ready",
                "source": {"kind": "command", "command": [check], "shell": shell},
            }
        ],
        "metrics": [
            {
                "id": "lag",
                "title": "lag",
                "threshold": {"below": 1},
                "source": {
                    "kind": "command",
                    "command": [metric],
                    "shell": shell,
                    "value_regex": "(\\d+)",
                },
            }
        ],
        "stages": [
            {
                "name": "production",
                "environment": "production",
                "steps": [{"id": "deploy", "title": "deploy", "command": [step], "shell": shell}],
            }
        ],
        "rollback": {
            "commands": [[rollback]],
            "shell": shell,
            "verify": {"metrics": ["lag"]},
        },
    }


def load(tmp_path: Path, data: dict[str, Any], environ: dict[str, str]) -> Profile:
    """Through the real loader (file, validation) and the real resolver."""
    path = tmp_path / "profile.toml"
    path.write_text(tomli_w.dumps(data))
    return resolve_profile(load_profile(path), environ).profile


def words_of(text: str, workdir: Path) -> list[str]:
    """Run ``text`` with ``/bin/sh -c`` in ``workdir``; the words it printed, one per line."""
    workdir.mkdir(exist_ok=True)
    for name in ("a-file", "b-file"):  # something for a glob to match
        (workdir / name).write_text("")
    done = subprocess.run(
        ["/bin/sh", "-c", text], cwd=workdir, capture_output=True, timeout=10, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not (workdir / "pwned").exists(), f"the payload ran: {text!r}"
    printed = (workdir / "words").read_bytes().decode()
    assert printed.startswith("<") and printed.endswith(">\n"), printed
    return printed[1:-2].split(">\n<")


def sites(profile: Profile) -> dict[str, str]:
    """The four places a profile gives shell text: step, rollback, check and metric."""
    check, metric = profile.checks[0].source, profile.metrics[0].source
    assert check is not None and check.kind == "command"
    assert metric.kind == "command"
    return {
        "step": profile.stages[0].steps[0].command[0],
        "rollback": profile.rollback.commands[0][0],
        "check": check.command[0],
        "metric": metric.command[0],
    }


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_each_classic_payload_arrives_as_one_literal_word(tmp_path: Path, payload: str) -> None:
    text = PRINT_WORDS.format(words="${var:PAYLOAD}")
    profile = load(
        tmp_path,
        profile_text(step=text, rollback=text, check=text, metric=text),
        {"PAYLOAD": payload},
    )
    for site, resolved in sites(profile).items():
        assert words_of(resolved, tmp_path / site) == [payload], site


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("pre${var:P}post", ["pre{P}post"]),
        ("\"a b\" ${var:P} 'c d'", ["a b", "{P}", "c d"]),
        ("${var:P}${var:P}", ["{P}{P}"]),
        ("a#${var:P}", ["a#{P}"]),
        ("${var:MISSING:-; touch pwned}", ["; touch pwned"]),
    ],
)
@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_a_value_stays_one_word_wherever_the_profile_may_put_it(
    tmp_path: Path, template: str, expected: list[str], payload: str
) -> None:
    text = PRINT_WORDS.format(words=template)
    profile = load(tmp_path, profile_text(step=text), {"P": payload})
    words = words_of(sites(profile)["step"], tmp_path / "run")
    assert words == [word.replace("{P}", payload) for word in expected]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
    ).filter(lambda p: "${" not in p)  # a value is never read as a reference (issue 7 §4)
)
def test_any_value_arrives_as_one_word(tmp_path: Path, payload: str) -> None:
    text = PRINT_WORDS.format(words="${var:P}")
    profile = load(tmp_path, profile_text(step=text), {"P": payload})
    assert words_of(sites(profile)["step"], tmp_path / "run") == [payload]


def test_without_shell_a_value_is_one_argv_element_unchanged(tmp_path: Path) -> None:
    data = profile_text(step="deploy", shell=False)
    data["stages"][0]["steps"][0]["command"] = ["deploy", "--tag", "${var:TAG}"]
    data["stages"][0]["steps"][0]["env"] = {"TAG": "${var:TAG}"}
    profile = load(tmp_path, data, {"TAG": "a b; c"})
    step = profile.stages[0].steps[0]
    assert step.command == ["deploy", "--tag", "a b; c"]
    assert step.env == {"TAG": "a b; c"}


def test_the_env_table_of_a_shell_step_is_not_quoted(tmp_path: Path) -> None:
    data = profile_text(step='printf "<%s>\\n" "$TAG" > words')
    data["stages"][0]["steps"][0]["env"] = {"TAG": "${var:TAG}"}
    profile = load(tmp_path, data, {"TAG": "a b"})
    assert profile.stages[0].steps[0].env == {"TAG": "a b"}


MISPLACED = [
    ('echo "${var:X}"', 'inside "..."'),
    ("echo '${var:X}'", "inside '...'"),
    ("echo `echo ${var:X}`", "inside backticks"),
    ('echo "$(echo ${var:X})"', 'inside "..."'),
    ("echo \\${var:X}", "right after a backslash"),
    ("echo $${var:X}", "right after a $"),
    ("echo hi # ${var:X}", "in a comment"),
    ("#!/bin/sh\necho ${var:X}", None),
    ("# note\n${var:X}", None),
    ("cat <<EOF\n${var:X}\nEOF", "after a here-document"),
    ("echo ${var:X}", None),
    ("deploy --tag=${var:X} && echo 'done' \"ok\"", None),
    ("echo 'it''s' \"a \\\" b\" ${var:X}", None),
    ("echo a#${var:X}", None),
    ("echo $(cat ${var:X}) ${var:Y:-x}", None),
    ("echo '\\' ${var:X}", None),  # a backslash inside '...' escapes nothing
    ("echo \\\\${var:X}", "right after a backslash"),  # an escaped backslash: refused anyway
]


@pytest.mark.parametrize(("text", "where"), MISPLACED, ids=[repr(m[0]) for m in MISPLACED])
def test_a_reference_that_quoting_cannot_protect_is_found(text: str, where: str | None) -> None:
    problem = misplaced_reference(text)
    if where is None:
        assert problem is None, problem
    else:
        assert problem is not None and where in problem, problem
        assert "its value would be read as shell" in problem


@pytest.mark.parametrize("site", ["step", "rollback", "check", "metric"])
def test_validate_refuses_a_reference_inside_quotes_naming_the_place(
    tmp_path: Path, site: str
) -> None:
    texts = {"step": "true", "rollback": "true", "check": "true", "metric": "true"}
    texts[site] = 'echo "${var:X}"'
    data = profile_text(
        step=texts["step"], rollback=texts["rollback"], check=texts["check"], metric=texts["metric"]
    )
    path = tmp_path / "profile.toml"
    path.write_text(tomli_w.dumps(data))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    (problem,) = caught.value.problems
    assert 'inside "..."' in problem.message
    place = {
        "step": "stages['production'].steps['deploy'].command[0]",
        "rollback": "rollback.commands[0][0]",
        "check": "checks['ready'].source.command[0]",
        "metric": "metrics['lag'].source.command[0]",
    }[site]
    assert problem.where == place
    assert problem.line is not None
