"""The layers, as a contract: each part of cockpit imports only the parts below it.

    foundations (sample, clock, durations, startup, first_frame, demo, heap…)
      → profile, journal, runner
        → engine, probes, lock
          → announce → session
            → evidence, watch, replay, session_list, guide, attach
              → ui
                → cli

A module may import its own package and anything in a lower layer, never a higher one, and
the packages form no cycle. Every import counts, also one inside a function (a lazy import is
still a dependency); imports under ``if TYPE_CHECKING:`` are for the type checker only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import cockpit

SRC = Path(cockpit.__file__).resolve().parent

LAYERS: list[set[str]] = [
    {
        "cockpit",
        "cockpit.__init__",
        "cockpit.sample",
        "cockpit.clock",
        "cockpit.durations",
        "cockpit.startup",
        "cockpit.first_frame",
        "cockpit.demo",
        "cockpit.inert",
        "cockpit.files",
        "cockpit.sparkline",
        "cockpit.heap",
        "cockpit.standby",
        "cockpit.pydantic_plugins",
    },
    {"cockpit.profile", "cockpit.journal", "cockpit.runner"},
    # The deploy lock reads the profile's [lock] and the files; the session takes it.
    {"cockpit.engine", "cockpit.probes", "cockpit.lock"},
    {"cockpit.announce"},
    {"cockpit.session"},
    # attach: the socket a live session serves, and the joined terminal (watch's read side).
    {
        "cockpit.evidence",
        "cockpit.watch",
        "cockpit.replay",
        "cockpit.replay_history",
        "cockpit.session_list",
        "cockpit.guide",
        "cockpit.attach",
    },
    {"cockpit.ui"},
    {"cockpit.cli", "cockpit.__main__"},
]


def part_of(module: str) -> str:
    """The top-level part a module belongs to: ``cockpit.session.loops`` → ``cockpit.session``."""
    pieces = module.split(".")
    return ".".join(pieces[:2]) if len(pieces) > 1 else module


def layer_of(part: str) -> int:
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"{part} is in no layer: add it to LAYERS in this test")


def _module_name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    pieces = list(relative.parts)
    if pieces[-1] == "__init__":
        pieces.pop()
    return ".".join(pieces)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for sub in ast.walk(child):
                    lines.add(getattr(sub, "lineno", -1))
    return lines


def _is_module(name: str) -> bool:
    return (SRC / f"{name}.py").is_file() or (SRC / name).is_dir()


def imports_of(path: Path) -> set[str]:
    """The cockpit modules ``path`` imports (named as modules, e.g. ``cockpit.engine.rules``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", -1) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cockpit"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cockpit":  # from cockpit import startup: the submodule
                found |= {
                    f"cockpit.{a.name}" if _is_module(a.name) else "cockpit" for a in node.names
                }
            elif node.module.split(".")[0] == "cockpit":
                found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    """module → the cockpit modules it imports."""
    edges: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        edges[_module_name(path)] = imports_of(path)
    return edges


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(edges.items()):
        here = part_of(module)
        for target in sorted(targets):
            there = part_of(target)
            if there != here and layer_of(there) > layer_of(here):
                problems.append(f"{module} imports {target}: a higher layer")
    return problems


def cycles_between_parts(edges: dict[str, set[str]]) -> list[list[str]]:
    parts: dict[str, set[str]] = defaultdict(set)
    for module, targets in edges.items():
        for target in targets:
            if part_of(target) != part_of(module):
                parts[part_of(module)].add(part_of(target))
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(parts.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in sorted(parts):
        visit(start, [start])
    return found


def test_no_part_imports_a_higher_layer() -> None:
    assert upward_imports(graph()) == []


def test_the_parts_form_no_cycle() -> None:
    assert cycles_between_parts(graph()) == []


def test_every_part_has_a_layer() -> None:
    for module in graph():
        layer_of(part_of(module))


def test_the_contract_can_fail() -> None:
    # The guard itself: an engine that imported the session, or a cycle, is caught.
    edges = {"cockpit.engine.rules": {"cockpit.session.live"}, "cockpit.session.live": set()}
    assert upward_imports(edges) == [
        "cockpit.engine.rules imports cockpit.session.live: a higher layer"
    ]
    loop = {"cockpit.profile.a": {"cockpit.journal.b"}, "cockpit.journal.b": {"cockpit.profile.a"}}
    assert cycles_between_parts(loop)


def test_the_report_loads_no_runtime() -> None:
    # `cockpit report` reads a journal: it needs the engine's fold, not the live session.
    script = (
        "import sys, cockpit.evidence\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cockpit.session', 'textual',"
        " 'cockpit.probes', 'httpx'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
