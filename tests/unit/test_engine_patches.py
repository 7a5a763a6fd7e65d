"""The engine's adjustments to SpiffWorkflow behave as SpiffWorkflow's own code does."""

from __future__ import annotations

import pytest
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


PANEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://egovflow/t">
  <bpmn:process id="panel" name="多人评分" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="score" name="评分">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:property id="reviewers" name="reviewers"/><bpmn:property id="scores" name="scores"/>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>scores</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="reviewer" name="reviewer"/>
        <bpmn:outputDataItem id="mark" name="mark"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:userTask id="after" name="汇总">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f2" sourceRef="score" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("kind", ["parallel multi-instance", "standard loop"])
def test_a_loop_restored_by_a_process_that_parsed_its_own_specs_still_moves_on(kind: str) -> None:
    # A restarted server (or another worker) parses the specs anew and restores the workflow with them.
    # SpiffWorkflow connected a loop's merge to its child only when it created a child, so the children
    # completed there never reached the loop: the instance waited for ever with no task open.
    from tests.workflows import looped

    if kind == "standard loop":
        files, pid, data, answer = {"l.bpmn": looped(until=2002).encode()}, "looped", {}, {}
    else:
        files, pid, data, answer = (
            {"p.bpmn": PANEL.encode()},
            "panel",
            {"reviewers": ["甲", "乙", "丙"]},
            {"mark": 90},
        )
    eng = engine.StepEngine()
    started_by, _ = engine.parse_bundle(files)
    workflow = engine.new_workflow(*started_by.specs(pid), data)
    engine.run(workflow, eng)
    stored = engine.dump_state(workflow)

    restarted, _ = engine.parse_bundle(files)
    workflow = engine.restore_state(stored, *restarted.specs(pid))
    for task in engine.ready_user_tasks(workflow):
        engine.complete_user_task(workflow, task.guid, answer, eng)
    if kind == "standard loop":
        (task,) = engine.ready_user_tasks(workflow)  # the second year's filing
        assert workflow.data == {} and engine.task_data(workflow, task.guid)["year"] == 2001
    else:
        (task,) = engine.ready_user_tasks(workflow)
        assert task.spec_id == "after" and engine.task_data(workflow, task.guid)["scores"] == [90, 90, 90]
