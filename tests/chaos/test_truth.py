"""The chaos suite's lie detector: what was really up, and when (unit)."""

from __future__ import annotations

from tests.chaos.harness import Truth


def test_was_reads_the_state_over_a_window() -> None:
    truth = Truth()
    truth.changes["db"] = [(0.0, True), (10.0, False), (40.0, True)]
    assert truth.was("db", True, 1, 5)
    assert not truth.was("db", False, 1, 5)
    assert truth.was("db", True, 5, 12)  # up at the start of the window
    assert truth.was("db", False, 5, 12)  # and down by its end
    assert not truth.was("db", True, 20, 30)
    assert truth.was("db", True, 30, 41)
    assert not truth.was("elsewhere", True, 0, 100)
