"""engine.migrate on real SpiffWorkflow workflows: what moves, what is refused, what is kept."""

from __future__ import annotations

import pytest

from processes import engine
from tests.bpmn_builder import Process, end, start, timer_catch, user_task

LANE = "建设单位经办人"


def diagram(process_id: str, *ids: str) -> str:
    """Elements in a row: `wait*` waits five days, `call*` calls process `child`, others are user tasks."""
    p = Process(process_id, process_id)
    p.add(start(), LANE, "start")
    for eid in ids:
        if eid.startswith("wait"):
            element = timer_catch(eid, "'P5D'")
        elif eid.startswith("call"):
            element = f'<bpmn:callActivity id="{eid}" name="子流程" calledElement="child"/>'
        else:
            element = user_task(eid, f"步骤{eid}")
        p.add(element, LANE, eid)
    p.add(end(), LANE, "end")
    p.chain("start", *ids, "end")
    return p.xml()


def specs(files: dict[str, str], process_id: str = "top") -> tuple:
    """Parse a bundle and return the process's (spec, subprocess specs)."""
    bundle, problems = engine.parse_bundle({name: text.encode() for name, text in files.items()})
    assert bundle is not None, problems
    return bundle.specs(process_id)


def run_to(workflow, eng, *done: str) -> None:  # noqa: ANN001
    """Complete the READY user tasks named in `done`, in order."""
    engine.run(workflow, eng)
    for spec_id in done:
        ready = {v.spec_id: v for v in engine.ready_user_tasks(workflow)}
        engine.complete_user_task(workflow, ready[spec_id].guid, {}, eng)


def copy_of(workflow, spec, subs):  # noqa: ANN001, ANN201
    """A fresh workflow restored from the stored state, as the runtime migrates."""
    return engine.restore_state(engine.dump_state(workflow), spec, subs)


def finish(workflow, eng) -> list[str]:  # noqa: ANN001
    """Complete user tasks until the workflow ends; return their ids in order."""
    seen = []
    engine.run(workflow, eng)
    while ready := engine.ready_user_tasks(workflow):
        seen.append(ready[0].spec_id)
        engine.complete_user_task(workflow, ready[0].guid, {}, eng)
    assert workflow.is_completed()
    return seen


def test_a_waiting_timer_keeps_its_due_time_and_what_follows_it_comes_from_the_new_version() -> None:
    eng = engine.StepEngine()
    spec, subs = specs({"t.bpmn": diagram("top", "a", "wait1", "c")})
    workflow = engine.new_workflow(spec, subs, {})
    run_to(workflow, eng, "a")
    due = engine.next_timer_due(workflow)
    assert due is not None
    new_spec, new_subs = specs({"t.bpmn": diagram("top", "a", "wait1", "c", "d")})
    moved = copy_of(workflow, spec, subs)

    plan = engine.migrate(moved, new_spec, new_subs)
    assert plan.problems == [] and plan.added == ["步骤d(d)"]
    engine.run(moved, eng)
    assert engine.next_timer_due(moved) == due
    ahead = [t.task_spec.name for t in moved.get_tasks() if t.task_spec.name in ("c", "d")]
    assert ahead == ["c", "d"]


def test_a_called_process_moves_with_its_caller_and_a_missing_one_is_refused() -> None:
    eng = engine.StepEngine()
    old = {"t.bpmn": diagram("top", "call1"), "c.bpmn": diagram("child", "x", "y")}
    spec, subs = specs(old)
    workflow = engine.new_workflow(spec, subs, {})
    run_to(workflow, eng, "x")

    new_spec, new_subs = specs({**old, "c.bpmn": diagram("child", "x", "y", "z")})
    moved = copy_of(workflow, spec, subs)
    plan = engine.migrate(moved, new_spec, new_subs)
    assert plan.problems == [] and plan.added == ["步骤z(z)"]
    assert finish(moved, eng) == ["y", "z"]

    renamed = {"t.bpmn": diagram("top", "call1").replace('"child"', '"kid"'), "c.bpmn": diagram("kid", "x")}
    other_spec, other_subs = specs(renamed)
    plan = engine.migrate(copy_of(workflow, spec, subs), other_spec, other_subs)
    assert plan.problems == ["子流程「child」在新版本中不存在"]


def test_an_open_task_removed_from_the_new_version_is_refused_and_the_workflow_left_untouched() -> None:
    eng = engine.StepEngine()
    spec, subs = specs({"t.bpmn": diagram("top", "a", "b")})
    workflow = engine.new_workflow(spec, subs, {})
    run_to(workflow, eng)
    before = engine.dump_state(workflow)
    new_spec, new_subs = specs({"t.bpmn": diagram("top", "b")})

    plan = engine.migrate(workflow, new_spec, new_subs)
    assert plan.problems == ["环节「步骤a(a)」正在进行，新版本中已删除"]
    assert engine.dump_state(workflow) == before and workflow.spec is spec


def test_moving_back_to_the_earlier_version_is_a_migration_like_any_other() -> None:
    eng = engine.StepEngine()
    v1 = specs({"t.bpmn": diagram("top", "a", "c")})
    v2 = specs({"t.bpmn": diagram("top", "a", "b", "c")})
    workflow = engine.new_workflow(*v1, {})
    run_to(workflow, eng)
    moved = copy_of(workflow, *v1)
    assert engine.migrate(moved, *v2).problems == []
    back = copy_of(moved, *v2)
    plan = engine.migrate(back, *v1)
    assert plan.problems == [] and plan.removed == ["步骤b(b)"]
    assert finish(back, eng) == ["a", "c"]


def test_a_failed_step_removed_from_the_new_version_is_named_as_failed() -> None:
    from tests.workflows import steps

    eng = engine.StepEngine()
    spec, subs = specs({"s.bpmn": steps("top", "a", script="ratio = 1 / 0")})
    workflow = engine.new_workflow(spec, subs, {})
    with pytest.raises(engine.ENGINE_ERRORS):
        engine.run(workflow, eng)
    assert engine.errored_task_guids(workflow)
    new_spec, new_subs = specs({"s.bpmn": steps("top", "a")})
    plan = engine.migrate(copy_of(workflow, spec, subs), new_spec, new_subs)
    assert plan.problems == ["环节「calc」出错待重试，新版本中已删除"]
