"""OutputTail: complete lines only, partial lines kept, bounded reads, truncation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cockpit.runner import OutputTail


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


def test_missing_file_then_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    tail = OutputTail(path)
    assert tail.read_lines() == []
    append(path, b"first\nsec")
    assert tail.read_lines() == ["first"]
    assert tail.read_lines() == []
    append(path, b"ond\r\nthird")
    assert tail.read_lines() == ["second"]
    assert tail.flush_partial() == ["third"]
    assert tail.flush_partial() == []


def test_utf8_split_across_reads(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    tail = OutputTail(path)
    append(path, "café ".encode()[:-2])
    assert tail.read_lines() == []
    append(path, "é ".encode()[-2:] + b"\n")
    assert tail.read_lines() == ["café "]


def test_many_lines_are_read_in_bounded_pieces(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    path.write_bytes(b"".join(b"line %06d\n" % i for i in range(200_000)))
    tail = OutputTail(path, chunk=65536)
    seen: list[str] = []
    calls = 0
    while batch := tail.read_lines():
        calls += 1
        assert len(batch) <= 65536 // len("line 000000\n") + 1
        seen.extend(batch)
    assert seen == [f"line {i:06d}" for i in range(200_000)]
    assert calls >= 200_000 * 12 // 65536


def test_endless_line_is_cut_and_truncation_restarts(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    path.write_bytes(b"y" * 250)
    tail = OutputTail(path, chunk=100, max_line=60)
    lines = tail.read_lines() + tail.read_lines() + tail.read_lines()
    assert lines == ["y" * 60] * 4
    assert tail.flush_partial() == ["y" * 10]
    path.write_bytes(b"new run\n")  # truncated by a re-run of the step
    assert tail.read_lines() == ["new run"]


def test_follows_a_writer_process(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    code = f"""
with open({str(path)!r}, "ab", buffering=0) as f:
    for i in range(1000):
        f.write(b"row %d\\n" % i)
"""
    tail = OutputTail(path, chunk=1024)
    writer = subprocess.Popen([sys.executable, "-c", code])
    seen: list[str] = []
    while writer.poll() is None:
        seen.extend(tail.read_lines())
    while batch := tail.read_lines():
        seen.extend(batch)
    assert writer.returncode == 0
    assert seen == [f"row {i}" for i in range(1000)]


def test_catch_up_skips_to_the_newest_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("".join(f"line {n}\n" for n in range(10_000)))
    tail = OutputTail(path)
    assert tail.read_lines()[:1] == ["line 0"]
    skipped = tail.catch_up(keep=100)
    assert skipped > 0
    lines = tail.read_lines()
    assert lines[-1] == "line 9999"
    assert all(line.startswith("line ") and line[5:].isdigit() for line in lines)  # no cut line
    assert len("".join(f"{line}\n" for line in lines)) <= 100
    assert tail.catch_up(keep=100) == 0  # caught up: nothing more to skip
