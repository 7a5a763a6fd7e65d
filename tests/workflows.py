"""Small test diagrams built with bpmn_builder, each exercising one runtime feature."""

from __future__ import annotations

from pathlib import Path

from tests.bpmn_builder import (
    Process,
    end,
    error_boundary,
    error_def,
    gateway,
    script_task,
    service_task,
    start,
    timer_boundary,
    timer_catch,
    user_task,
)

FORM = (Path(__file__).parent / "fixtures" / "approval.schema.json").read_text(encoding="utf-8")


def two_lanes(process_id: str = "two_lanes", review_lane: str = "市数管局项目科") -> str:
    """Unit operator fills, a reviewer in `review_lane` decides; a script computes a flag."""
    p = Process(process_id, "两级审批")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("fill", "填写申请", form="approval.schema.json"), "建设单位经办人", "fill")
    p.add(script_task("calc", "big = amount >= 5000000"), "建设单位经办人", "calc")
    p.add(
        user_task(
            "review",
            "审核申请",
            form="approval.schema.json",
            instructions="请审核 {{ project_name }}，金额 {{ amount }} 元",
        ),
        review_lane,
        "review",
    )
    p.add(end(), review_lane, "end")
    p.chain("start", "fill", "calc", "review", "end")
    return p.xml()


def linear(process_id: str = "linear", steps: int = 10) -> str:
    """A script task then `steps` user tasks in one unit lane (the benchmark diagram)."""
    p = Process(process_id, "线性流程")
    ids = ["start", "init"]
    p.add(start(), "建设单位经办人", "start")
    p.add(script_task("init", "counter = 0"), "建设单位经办人", "init")
    for i in range(steps):
        p.add(user_task(f"t{i}", f"步骤{i + 1}"), "建设单位经办人", f"t{i}")
        ids.append(f"t{i}")
    p.add(end(), "建设单位经办人", "end")
    p.chain(*ids, "end")
    return p.xml()


def script_only(process_id: str = "script_only") -> str:
    """Start → script → end."""
    p = Process(process_id, "纯脚本流程")
    p.add(start(), "建设单位经办人", "start")
    p.add(script_task("s", "result = sum(range(10))"), "建设单位经办人", "s")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "s", "end")
    return p.xml()


def timed(process_id: str = "timed") -> str:
    """A user task with an interrupting 5-day boundary timer, then a 1-month wait, then a final task."""
    p = Process(process_id, "定时流程")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("answer", "补正材料"), "建设单位经办人", "answer")
    p.add(timer_boundary("late", "answer", '"P5D"'), "建设单位经办人", "late")
    p.add(end("withdrawn"), "建设单位经办人", "withdrawn")
    p.add(timer_catch("trial", '"P1M"'), "建设单位经办人", "trial")
    p.add(user_task("apply", "提交验收申请"), "建设单位经办人", "apply")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "answer", "trial", "apply", "end")
    p.flow("late", "withdrawn")
    return p.xml()


def flaky(process_id: str = "flaky") -> str:
    """A service task calling the test handler `flaky` then a user task."""
    p = Process(process_id, "故障重试流程")
    p.add(start(), "建设单位经办人", "start")
    p.add(service_task("call", "flaky", {"value": "41"}), "建设单位经办人", "call")
    p.add(user_task("after", "查看结果"), "建设单位经办人", "after")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "call", "after", "end")
    return p.xml()


def caught_error(process_id: str = "caught") -> str:
    """A service task whose business error is caught by a boundary event and routed to a user task."""
    p = Process(process_id, "业务错误流程")
    p.extras.append(error_def("err_bad", "bad_input"))
    p.add(start(), "建设单位经办人", "start")
    p.add(service_task("call", "flaky", {"value": "-1"}), "建设单位经办人", "call")
    p.add(error_boundary("on_bad", "call", "err_bad"), "建设单位经办人", "on_bad")
    p.add(user_task("fix", "修改后重新提交"), "建设单位经办人", "fix")
    p.add(user_task("ok", "正常办理"), "建设单位经办人", "ok")
    p.add(end("end_fix"), "建设单位经办人", "end_fix")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "call", "ok", "end")
    p.chain("on_bad", "fix", "end_fix")
    return p.xml()


def routed(process_id: str = "routed") -> str:
    """Exclusive and parallel gateways: big amounts need two parallel opinions."""
    p = Process(process_id, "网关流程")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("fill", "填写申请", form="approval.schema.json"), "建设单位经办人", "fill")
    p.add(gateway("route", default="f_route_small"), "系统", "route")
    p.add(gateway("split", "parallel"), "系统", "split")
    p.add(user_task("fin", "财政意见"), "市财政局", "fin")
    p.add(user_task("ndrc", "发改意见"), "市发改委", "ndrc")
    p.add(gateway("join", "parallel"), "系统", "join")
    p.add(gateway("merge"), "系统", "merge")
    p.add(end(), "系统", "end")
    p.chain("start", "fill", "route")
    p.flow("route", "split", "amount >= 5000000", flow_id="f_route_big")
    p.flow("route", "merge", flow_id="f_route_small")
    p.chain("split", "fin", "join")
    p.chain("split", "ndrc", "join")
    p.chain("join", "merge", "end")
    return p.xml()


def bundle(xml: str, name: str = "test.bpmn", with_form: bool = True) -> dict[str, str]:
    """A deployable bundle of one diagram plus the test form."""
    files = {name: xml}
    if with_form:
        files["approval.schema.json"] = FORM
    return files


def looped(process_id: str = "looped", until: int = 2003) -> str:
    """An embedded subprocess with a standard loop: one user task and a counter per iteration."""
    from tests.perf.bench_engine import LOOPED

    return LOOPED.replace('id="looped"', f'id="{process_id}"').replace("year &lt; 2400", f"year &lt; {until}")


def steps(process_id: str, *ids: str, formed: tuple[str, ...] = (), script: str | None = None) -> str:
    """User tasks 步骤<id> in order (unit lane); those in `formed` use the test form; `script` runs first."""
    p = Process(process_id, "逐步办理")
    p.add(start(), "建设单位经办人", "start")
    chain = ["start"]
    if script is not None:
        p.add(script_task("calc", script), "建设单位经办人", "calc")
        chain.append("calc")
    for eid in ids:
        form = "approval.schema.json" if eid in formed else None
        p.add(user_task(eid, f"步骤{eid}", form=form), "建设单位经办人", eid)
        chain.append(eid)
    p.add(end(), "建设单位经办人", "end")
    p.chain(*chain, "end")
    return p.xml()


def returned(process_id: str = "returned") -> str:
    """A review that a REJECT sends back to itself (a back-edge loop, as a return for correction is)."""
    p = Process(process_id, "退回重审")
    p.add(start(), "建设单位经办人", "start")
    p.add(gateway("merge"), "建设单位经办人", "merge")
    p.add(user_task("review", "审核", form="approval.schema.json"), "建设单位经办人", "review")
    p.add(gateway("decide", default="f_done"), "建设单位经办人", "decide")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "merge", "review", "decide")
    p.flow("decide", "merge", condition='decision == "REJECT"', flow_id="f_back")
    p.flow("decide", "end", flow_id="f_done")
    return p.xml()
