"""Giving freed memory back: a no-op where the C library cannot, never an error."""

from __future__ import annotations

import platform

from cockpit.heap import release_free_memory


def test_free_memory_is_given_back_with_glibc_and_nothing_fails_elsewhere() -> None:
    can = release_free_memory()
    assert can is (platform.libc_ver()[0] == "glibc")
    assert release_free_memory() is can  # again: the same answer, no error
