"""The engine's adjustments to SpiffWorkflow behave as SpiffWorkflow's own code does."""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from processes import engine


def test_state_names_are_spiffs_own_for_every_value() -> None:
    """The precomputed state names equal what SpiffWorkflow's function returns, masks included."""
    assert TaskState.get_name is not engine._spiff_state_name
    for value in range(2 * (TaskState.ANY_MASK + 1)):
        assert TaskState.get_name(value) == engine._spiff_state_name(value), value
    assert TaskState.get_name(TaskState.READY) == "READY"
    assert TaskState.get_name(TaskState.READY | TaskState.WAITING) == "WAITING|READY"
