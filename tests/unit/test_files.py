"""``cockpit.files``: what the cockpit reads is a bounded regular file, what it writes cannot be
redirected (the rules of RELIABILITY.md, "Files it writes" and "Bad input").

The cases with another OS user's files are in ``test_planted_files.py``; here the rules of the
module itself, as the user who runs the tests.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cockpit.files import (
    FileRefused,
    check_regular_file,
    open_new,
    read_regular_file,
    replace_file,
    secure_directory,
    write_new_file,
)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """No umask: the modes on disk are exactly what the code asked for."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# ---------------------------------------------------------------- reading


def test_a_regular_file_under_the_cap_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_bytes(b"x" * 1000)
    assert read_regular_file(path, 1000) == b"x" * 1000


def test_one_byte_over_the_cap_is_refused_and_says_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_bytes(b"x" * 1001)
    with pytest.raises(
        FileRefused, match="is 1001 bytes, more than a profile may be \\(1000 bytes\\)"
    ) as caught:
        read_regular_file(path, 1000, what="profile")
    assert caught.value.errno == errno.EFBIG
    assert str(caught.value).startswith(f"{path}: is 1001 bytes")


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: p.symlink_to("/dev/null"), "a character device"),
        (os.mkfifo, "a FIFO"),
    ],
    ids=["directory", "device", "fifo"],
)
def test_what_is_not_a_regular_file_is_refused_before_a_byte_is_read(
    tmp_path: Path, make: Callable[[Path], object], kind: str
) -> None:
    # The FIFO has no writer: a blocking open would hang here. It is opened without blocking
    # and refused on what fstat says.
    path = tmp_path / "thing"
    make(path)
    with pytest.raises(FileRefused, match=f"is {kind}.*not a profile"):
        read_regular_file(path, 1 << 20, what="profile")
    with pytest.raises(FileRefused, match=f"is {kind}"):
        check_regular_file(path)


def test_missing_files_and_link_loops_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="no such file") as caught:
        read_regular_file(tmp_path / "missing", 10)
    assert caught.value.errno == errno.ENOENT
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(FileRefused, match="symbolic links"):
        read_regular_file(loop, 10)
    with pytest.raises(FileRefused, match="is a symbolic link"):
        check_regular_file(loop, follow_symlinks=False)


def test_an_empty_path_is_named_as_such() -> None:
    with pytest.raises(FileRefused) as caught:
        read_regular_file("", 10)
    assert str(caught.value).startswith("(an empty path): ")


# ---------------------------------------------------------------- writing


@pytest.mark.usefixtures("umask_zero")
def test_a_new_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new"
    write_new_file(path, b"data")
    assert path.read_bytes() == b"data"
    assert mode_of(path) == 0o600


@pytest.mark.parametrize("dangling", [False, True], ids=["link-to-a-file", "dangling-link"])
def test_a_link_planted_where_a_new_file_goes_is_never_followed(
    tmp_path: Path, dangling: bool
) -> None:
    target = tmp_path / "target"
    if not dangling:
        target.write_bytes(b"precious")
    link = tmp_path / "new"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        open_new(link)
    with pytest.raises(FileExistsError):
        write_new_file(link, b"overwritten")
    assert link.is_symlink()
    if dangling:
        assert not os.path.lexists(target)
    else:
        assert target.read_bytes() == b"precious"


@pytest.mark.usefixtures("umask_zero")
def test_replacing_a_file_replaces_a_planted_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"precious")
    target.chmod(0o644)
    report = tmp_path / "DEPLOYMENT-REPORT.md"
    report.symlink_to(target)
    replace_file(report, b"# report\n")
    assert target.read_bytes() == b"precious"
    assert not report.is_symlink()
    assert report.read_bytes() == b"# report\n"
    assert mode_of(report) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DEPLOYMENT-REPORT.md", "target"]


def test_replacing_a_directory_fails_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "report").mkdir()
    with pytest.raises(IsADirectoryError):
        replace_file(tmp_path / "report", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


# ---------------------------------------------------------------- directories


@pytest.mark.usefixtures("umask_zero")
def test_missing_directories_are_made_0700_each(tmp_path: Path) -> None:
    deep = tmp_path / "state" / "cockpit" / "sessions"
    secure_directory(deep)
    for directory in (tmp_path / "state", tmp_path / "state" / "cockpit", deep):
        assert mode_of(directory) == 0o700, directory
    secure_directory(deep)  # and an existing one of ours is fine


@pytest.mark.parametrize("mode", [0o720, 0o702, 0o777, 0o1777])
def test_a_directory_writable_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    loose = tmp_path / "sessions"
    loose.mkdir()
    loose.chmod(mode)
    with pytest.raises(FileRefused, match=f"writable by group or others \\(mode {mode:04o}\\)"):
        secure_directory(loose)
    with pytest.raises(FileRefused, match=f"chmod 700 {loose}"):
        secure_directory(loose, create=False)


def test_a_symbolic_link_to_a_good_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "sessions"
    link.symlink_to(real)
    with pytest.raises(FileRefused, match="is a symbolic link"):
        secure_directory(link)


def test_a_file_where_the_directory_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sessions").write_text("x")
    with pytest.raises(FileRefused, match="is a regular file, not a directory"):
        secure_directory(tmp_path / "sessions")


def test_a_missing_directory_is_refused_when_it_may_not_be_made(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="no such directory"):
        secure_directory(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()


def test_a_parent_others_may_write_to_lets_them_swap_the_directory(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    (parent / "sessions").mkdir(mode=0o700)
    parent.chmod(0o777)  # anyone may rename "sessions" away and put their own in its place
    with pytest.raises(FileRefused, match=f"lies in {parent}, writable by group or others"):
        secure_directory(parent / "sessions")
    with pytest.raises(FileRefused, match=f"lies in {parent}"):
        secure_directory(parent / "new")
    with pytest.raises(FileRefused, match=f"lies in {parent}"):
        secure_directory(parent / "new", create=False, missing_ok=True)
    assert not (parent / "new").exists(), "nothing is made in a place others control"
    parent.chmod(0o1777)  # the sticky bit (as /tmp has): only the owner may rename it
    secure_directory(parent / "sessions")
    secure_directory(parent / "later", create=False, missing_ok=True)
    assert not (parent / "later").exists()
    secure_directory(parent / "new")
