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


def test_a_back_edge_loop_runs_past_spiffworkflows_depth_bound_and_ends_only_when_left() -> None:
    # SpiffWorkflow's iterators stop at depth 1000; this loop passes it after about 330 rounds, where the
    # READY task used to vanish and the workflow reported itself complete.
    from tests.workflows import FORM, returned

    bundle, problems = engine.parse_bundle(
        {"r.bpmn": returned().encode(), "approval.schema.json": FORM.encode()}
    )
    assert bundle is not None, problems
    spec, subs = bundle.specs("returned")
    eng = engine.StepEngine()
    workflow = engine.new_workflow(spec, subs, {})
    engine.run(workflow, eng)
    for _ in range(360):
        (task,) = engine.ready_user_tasks(workflow)
        engine.complete_user_task(workflow, task.guid, {"decision": "REJECT", "amount": 1}, eng)
        assert not workflow.is_completed()
    assert max(_depth(t) for t in workflow.get_tasks()) > 1000
    (task,) = engine.ready_user_tasks(workflow)
    engine.complete_user_task(workflow, task.guid, {"decision": "APPROVE", "amount": 1}, eng)
    assert workflow.is_completed()


def _depth(task) -> int:  # noqa: ANN001
    depth = 0
    while task.parent is not None:
        task, depth = task.parent, depth + 1
    return depth
