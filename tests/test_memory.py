"""The server's malloc arena limit (ui/memory.py): set once on glibc, left alone elsewhere or when the operator chose."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from ui import memory


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_state", {})
    monkeypatch.delenv(memory.ARENA_ENV, raising=False)


class FakeLibc:
    def __init__(self, answer: int) -> None:
        self.answer, self.calls = answer, []  # type: ignore[var-annotated]

    def mallopt(self, param: Any, value: Any) -> int:
        self.calls.append((param.value, value.value))
        return self.answer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_on_glibc_the_limit_is_set_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    assert memory._libc() is not None, "this Linux has glibc: mallopt must be found"
    assert memory.limit_malloc_arenas() is True
    monkeypatch.setattr(memory, "_libc", lambda: pytest.fail("asked glibc twice"))
    assert memory.limit_malloc_arenas() is True


def test_the_limit_is_passed_as_glibcs_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc(1)
    monkeypatch.setattr(memory, "_libc", lambda: libc)
    assert memory.limit_malloc_arenas(3) is True
    assert libc.calls == [(memory.M_ARENA_MAX, 3)]
    assert memory.M_ARENA_MAX == -8  # malloc.h


def test_an_operators_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc(1)
    monkeypatch.setattr(memory, "_libc", lambda: libc)
    monkeypatch.setenv(memory.ARENA_ENV, "4")
    assert memory.limit_malloc_arenas() is False
    assert libc.calls == []


def test_not_linux_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory._libc() is None
    assert memory.limit_malloc_arenas() is False


def test_a_refusal_is_logged_and_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc(0))
    with caplog.at_level(logging.WARNING, logger="ui.memory"):
        assert memory.limit_malloc_arenas() is False
    assert "refused the malloc arena limit" in caplog.text
