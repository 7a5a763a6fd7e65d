"""The only module that imports SpiffWorkflow: parse bundles, run workflows, store and restore their state.

Everything above this module sees plain Python values (ids, dicts, dataclasses); nothing else in the
code base needs to know SpiffWorkflow's classes, its serializer quirks or its clock.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import re
import sys
import traceback as tb
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition, MessageEventDefinition
from SpiffWorkflow.util.task import TaskIterator, TaskState

from handlers.errors import HandlerError
from processes import scripting
from processes.errors import Problem

log = logging.getLogger(__name__)

STATE_FORMAT = f"spiff-{SERIALIZER_VERSION}"  # stored with every instance; bump when our layout changes
SCRIPT_GLOBALS = {"datetime": datetime, "timedelta": timedelta, "Decimal": Decimal}

# ----------------------------------------------------------------------------- the process clock

_now: contextvars.ContextVar[Callable[[], datetime]] = contextvars.ContextVar(
    "egovflow_now", default=lambda: datetime.now(UTC)
)


class _ClockedDatetime(datetime):
    """`datetime` whose now() reads the process clock; SpiffWorkflow's timers call datetime.now()."""

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        current = _now.get()()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


# SpiffWorkflow's timer module reads the wall clock through its module-level `datetime` name; routing it
# through the context variable lets the runtime and the tests decide what "now" is.
spiff_timer.datetime = _ClockedDatetime

# Every task state change formats a log message and its extras whatever the log level, and each calls
# `TaskState.get_name`, which builds two dicts per call: a tenth of a short instance's run. The names of the
# 512 possible values are computed once, by SpiffWorkflow's own function, and then looked up.
_STATE_NAMES = {value: TaskState.get_name(value) for value in range(TaskState.ANY_MASK + 1)}
_spiff_state_name = TaskState.get_name


def _state_name(_cls: type, state: int) -> str:
    found = _STATE_NAMES.get(state)
    return found if found is not None else _spiff_state_name(state)


TaskState.get_name = classmethod(_state_name)  # type: ignore[method-assign, assignment]

# SpiffWorkflow's task iterators stop descending at depth 1000 unless told otherwise, and nothing deeper is
# seen: after about 330 rounds of a back-edge loop (a gateway flowing back to an earlier task) the READY
# task lies deeper, `do_engine_steps` skips it and the workflow reports itself complete. The iterators walk
# iteratively, so they are given no depth bound; `snapshot` still refuses a "complete" workflow that has
# open tasks, and a RecursionError from a recursive walk elsewhere becomes an incident (ENGINE_ERRORS).
UNBOUNDED_DEPTH = sys.maxsize


def _unbound_depth(init: Callable[..., None]) -> None:
    params = [p for p in inspect.signature(init).parameters.values() if p.default is not p.empty]
    defaults = list(init.__defaults__ or ())
    defaults[[p.name for p in params].index("max_depth")] = UNBOUNDED_DEPTH
    init.__defaults__ = tuple(defaults)


for _iterator in (TaskIterator, BpmnTaskIterator):
    _unbound_depth(_iterator.__init__)

# A decision table with no rule for the values it is given returns nothing, silently: the variables it
# should have set are then missing further on ("未定义的变量" at a later step), the table is not named,
# and a retry of that later step cannot help. Such a table (any hit policy but COLLECT, where no match is
# an empty list) fails at its own business rule task instead, naming the table and the values; once the
# table is fixed and the instance migrated, a retry runs the decision again.
_spiff_dmn_result = DMNEngine.result


def _result_or_no_rule(self: DMNEngine, task: Any) -> dict[str, Any]:
    result = _spiff_dmn_result(self, task)
    table = self.decision_table
    if result or table.hit_policy == "COLLECT" or not table.rules:
        return result
    values = []
    for column in table.inputs:
        try:
            value = task.workflow.script_engine.evaluate(task, column.expression)
        except Exception:  # noqa: BLE001 - the message names what it could not read
            value = "（无法取值）"
        values.append(f"{column.label or column.expression}={value!r}")
    raise WorkflowTaskException(
        f"决策表「{table.name or table.id}」没有与输入相符的规则（{'，'.join(values)}），"
        "请检查决策表的规则是否覆盖这些取值",
        task=task,
    )


DMNEngine.result = _result_or_no_rule  # type: ignore[method-assign]


class clock_context:  # noqa: N801 - used as a context manager, reads like a statement
    """Run engine code with `now` as the process clock."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._token: contextvars.Token | None = None

    def __enter__(self) -> None:
        self._token = _now.set(self._now)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _now.reset(self._token)


# ----------------------------------------------------------------------------- scripts and handlers


class HandlerFailed(Exception):
    """A handler raised something that is not a HandlerError: an incident, not a business outcome."""


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Every script, condition, timer and parameter expression runs in processes.scripting's sandbox."""

    def __init__(self, timeout: float) -> None:
        super().__init__(SCRIPT_GLOBALS)
        self.timeout = timeout

    def evaluate(self, expression, context, external_context=None):  # noqa: ANN001, ANN201
        extra = dict(SCRIPT_GLOBALS)
        extra.update(external_context or {})
        return scripting.evaluate(expression, context, extra, timeout=self.timeout)

    def execute(self, script, context, external_context=None):  # noqa: ANN001, ANN201
        extra = dict(SCRIPT_GLOBALS)
        extra.update(external_context or {})
        scripting.execute(script, context, extra, timeout=self.timeout)
        return True

    def call_service(self, context, **kwargs):  # noqa: ANN001, ANN201
        raise NotImplementedError("service tasks run through StepEngine.call_handler")


HandlerCaller = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


class StepEngine(PythonScriptEngine):
    """The script engine for one unit of work: sandboxed scripts plus a way to call handlers."""

    def __init__(self, call_handler: HandlerCaller | None = None, timeout: float = scripting.DEFAULT_TIMEOUT):
        super().__init__(environment=SandboxEnvironment(timeout))
        self._call_handler = call_handler

    def run_handler(self, task, operator: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
        """Call the handler named `operator` for `task`; returns the data to merge."""
        if self._call_handler is None:
            raise HandlerFailed(f"no handler caller configured for {operator}")
        return self._call_handler(operator, task.workflow.spec.name, str(task.id), params)


class HandlerServiceTask(SpiffServiceTask):
    """A service task that merges its handler's result and turns HandlerError into a BPMN error."""

    def _execute(self, task):  # noqa: ANN001, ANN202
        engine = task.workflow.script_engine
        params = {name: engine.evaluate(task, p["value"]) for name, p in self.operation_params.items()}
        try:
            result = engine.run_handler(task, self.operation_name, params)
        except HandlerError as err:
            if _throw_error(task, err):
                return None  # the boundary event took over; this task is cancelled by it
            raise
        task.data.update(result or {})
        return True


def _throw_error(task, err: HandlerError) -> bool:  # noqa: ANN001
    """Throw a BPMN error for `err`; True when an error boundary or event subprocess caught it."""
    definition = ErrorEventDefinition(err.code, code=err.code)
    # The payload lands in the bpmn:error's spiffworkflow:variableName, when the diagram names one.
    payload = {"code": err.code, "message": err.message, "details": err.details}
    event = BpmnEvent(definition, payload=payload, target=task.workflow)
    top = task.workflow.top_workflow
    catchers = [t for t in top.event_manager.tasks.values() if t.task_spec.event_definition.catches(t, event)]
    if not catchers:
        return False
    for catcher in catchers:  # and the error branch always sees error_code / error_message
        catcher.data.update(error_code=err.code, error_message=err.message, error_details=err.details)
    top.catch(event)
    if event in top.bpmn_events:  # nobody inside the process caught it after all
        top.bpmn_events.remove(event)
        return False
    return True


class _HandlerServiceTaskParser(ServiceTaskParser):
    pass


class _Parser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        "{http://www.omg.org/spec/BPMN/20100524/MODEL}serviceTask": (
            _HandlerServiceTaskParser,
            HandlerServiceTask,
        ),
    }


# ----------------------------------------------------------------------------- parsing


def _safe_xml(content: bytes) -> etree._Element:
    """Parse XML with entity expansion, DTDs and network access off."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )
    root = etree.fromstring(content, parser)
    if root is None:
        raise etree.XMLSyntaxError("empty document", None, 1, 1)  # type: ignore[call-arg]
    return root


@dataclass
class ElementInfo:
    """What validation needs to know about one element of a parsed bundle."""

    file: str
    process_id: str
    element_id: str
    name: str
    kind: str  # userTask, serviceTask, scriptTask, businessRuleTask, callActivity, timer, flow, …
    lane: str | None = None
    expressions: list[tuple[str, str, str]] = field(default_factory=list)  # (what, source, mode)
    operator: str | None = None
    params: list[str] = field(default_factory=list)
    form: str | None = None
    ui_form: str | None = None
    decision_id: str | None = None
    called: str | None = None
    completed_by: str | None = None  # a user task's `completedBy`: the variable that gets who completed it


@dataclass
class ParsedBundle:
    """The parsed, executable specs of one bundle, plus where each process came from."""

    parser: SpiffBpmnParser
    process_files: dict[str, str]  # process id -> file name
    process_names: dict[str, str]
    executable: list[str]
    dmn_decisions: dict[str, str]  # decision id -> file name
    timer_starts: dict[str, str] = field(default_factory=dict)  # process id -> its start timer expression
    _specs: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)

    def specs(self, process_id: str) -> tuple[Any, dict[str, Any]]:
        """Return (spec, subprocess specs) for a process, parsing and resolving on first use."""
        if process_id not in self._specs:
            spec = self.parser.get_spec(process_id)
            subs = self.parser.get_subprocess_specs(process_id)
            expression = _lift_start_timers(spec)
            for sub in subs.values():
                _lift_start_timers(sub)
            for one in (spec, *subs.values()):
                _connect_loop_merges(one)
                _quote_bare_timer_durations(one)
            if expression is not None:
                self.timer_starts[process_id] = expression
            self._specs[process_id] = (spec, subs)
        return self._specs[process_id]

    def start_lane(self, process_id: str) -> str | None:
        """Return the lane of the process's start event (its role may start the process)."""
        spec, _ = self.specs(process_id)
        for ts in spec.task_specs.values():
            if ts.__class__.__name__ == "StartEvent" and getattr(ts, "lane", None):
                return ts.lane
        return None

    def called_processes(self) -> set[str]:
        """Return the process ids some call activity in the bundle calls."""
        called: set[str] = set()
        for pid in self.process_files:
            spec, _ = self.specs(pid)
            for ts in spec.task_specs.values():
                if isinstance(ts, CallActivity):
                    called.add(ts.spec)
        return called

    def dependencies(self, process_id: str) -> set[str]:
        """Return the process ids that `process_id` calls, directly or not."""
        _, subs = self.specs(process_id)
        return {name for name in subs if name in self.process_files}


def _connect_loop_merges(spec: Any) -> None:
    """Connect each loop's and multi-instance's merge to its child task's completion, once per parsed spec.

    SpiffWorkflow makes that connection only when the loop creates a child. A process that restores a loop
    mid-way (after a restart, in another worker or web process) never created one, so the children's
    completion would not reach the loop: the instance would wait for ever with no task open.
    """
    for ts in spec.task_specs.values():
        if isinstance(ts, LoopTask):
            child = spec.task_specs[ts.task_spec]
            if not child.completed_event.is_connected(ts.merge_child):
                child.completed_event.connect(ts.merge_child)


def _lift_start_timers(spec: Any) -> str | None:
    """Turn timer start events into plain start events; return the timer's expression.

    A timer start event becomes a schedule in the database (the worker starts one short instance each
    time it falls due), instead of SpiffWorkflow's single instance that grows a new branch every cycle.
    """
    expression = None
    for ts in spec.task_specs.values():
        definition = getattr(ts, "event_definition", None)
        if ts.__class__.__name__ == "StartEvent" and isinstance(definition, TimerEventDefinition):
            expression = definition.expression
            ts.event_definition = NoneEventDefinition()
    return expression


MAX_SKIPPED_CYCLES = 100_000


def next_occurrence(expression: str, now: datetime, previous: datetime | None = None) -> datetime | None:
    """Return when a start timer is next due after `previous` (None: first time), or None when never again.

    A cycle (`R[n]/start/period`) runs at its start and every period after; a date or a duration runs once.
    Missed occurrences are skipped, not replayed.
    """
    value = scripting.evaluate(expression, {}, SCRIPT_GLOBALS)
    text = value.strip().upper() if isinstance(value, str) else value
    if isinstance(text, datetime):
        return text if previous is None else None
    if text.startswith("R"):
        cycles, start, period = TimerEventDefinition.parse_iso_recurring_interval(text)
        due, done = start, 0
        while ((previous is not None and due <= previous) or due < now) and done < MAX_SKIPPED_CYCLES:
            due, done = due + period, done + 1
        return due if cycles < 0 or done < cycles else None
    if previous is not None:
        return None
    if text.startswith("P"):
        return after(now, text)
    return TimerEventDefinition.get_datetime(text)


@dataclass
class DecisionTableText:
    """One DMN decision table as written: hit policy, condition columns and the rules' condition cells."""

    file: str
    table_id: str
    name: str
    hit_policy: str
    inputs: list[str]  # each condition column's label (else its expression)
    rules: list[tuple[str, list[tuple[str, str]]]]  # (rule id, one (cell id, text) per column)


def decision_tables(files: Mapping[str, bytes]) -> Iterator[DecisionTableText]:
    """Yield every DMN decision table of a bundle as written (for checks no rule ever runs)."""
    for name, content in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            root = _safe_xml(content)
        except (etree.XMLSyntaxError, ValueError, UnicodeDecodeError):
            continue  # parse_bundle reports it
        for decision in root.iter("{*}decision"):
            for table in decision.iter("{*}decisionTable"):
                inputs = []
                for column in table.findall("{*}input"):
                    expression = column.find("{*}inputExpression/{*}text")
                    text = expression.text if expression is not None else ""
                    inputs.append(column.get("label") or (text or "").strip())
                rules = [
                    (
                        rule.get("id") or "",
                        [
                            (cell.get("id") or "", cell.findtext("{*}text") or "")
                            for cell in rule.findall("{*}inputEntry")
                        ],
                    )
                    for rule in table.findall("{*}rule")
                ]
                yield DecisionTableText(
                    name,
                    table.get("id") or "",
                    decision.get("name") or decision.get("id") or "",
                    (table.get("hitPolicy") or "UNIQUE").upper(),
                    inputs,
                    rules,
                )


def parse_bundle(files: dict[str, bytes]) -> tuple[ParsedBundle | None, list[Problem]]:
    """Parse BPMN and DMN files into specs; returns (bundle or None, problems)."""
    problems: list[Problem] = []
    parser = _Parser(validator=VALIDATOR)
    process_files: dict[str, str] = {}
    process_names: dict[str, str] = {}
    dmn_decisions: dict[str, str] = {}
    for name, content in sorted(files.items()):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        if not content.strip():
            problems.append(Problem(name, "", "文件为空"))
            continue
        try:
            root = _safe_xml(content)
        except etree.XMLSyntaxError as err:
            problems.append(Problem(name, "", f"XML 格式错误(第 {err.lineno} 行): {err.msg}"))
            continue
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(Problem(name, "", f"无法读取 XML: {err}"))
            continue
        try:
            if name.endswith(".bpmn"):
                for proc in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process"):
                    pid = proc.get("id") or ""
                    if pid in process_files:
                        problems.append(Problem(name, pid, f"流程 ID 与 {process_files[pid]} 重复"))
                        continue
                    process_files[pid] = name
                    process_names[pid] = proc.get("name") or pid
                parser.add_bpmn_xml(root, filename=name)
            else:
                for dec in root.iter("{*}decision"):
                    dmn_decisions[dec.get("id") or ""] = name
                parser.add_dmn_xml(root, filename=name)
        except ValidationException as err:
            problems.append(Problem(name, getattr(err, "id", "") or "", _validation_message(err)))
        except (
            SpiffWorkflowException,
            etree.LxmlError,
            ValueError,
            KeyError,
            AttributeError,
            TypeError,
        ) as err:
            problems.append(Problem(name, "", f"无法解析: {err}"))
    if problems:
        return None, problems
    try:
        executable = parser.get_process_ids()
    except (ValidationException, SpiffWorkflowException, KeyError, AttributeError, TypeError) as err:
        return None, [Problem("", getattr(err, "id", "") or "", _validation_message(err))]
    bundle = ParsedBundle(parser, process_files, process_names, executable, dmn_decisions)
    for pid in process_files:
        if pid not in executable:
            problems.append(Problem(process_files[pid], pid, "流程未标记为可执行(isExecutable)"))
            continue
        try:
            bundle.specs(pid)
        except (ValidationException, SpiffWorkflowException) as err:
            eid = getattr(err, "id", "") or ""
            problems.append(
                Problem(getattr(err, "file_name", "") or process_files[pid], eid, _validation_message(err))
            )
        except (KeyError, AttributeError, TypeError, ValueError) as err:
            problems.append(Problem(process_files[pid], pid, f"无法解析: {err}"))
    return (None if problems else bundle), problems


def _validation_message(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else err.__class__.__name__
    line = getattr(err, "line_number", "")
    where = f"(第 {line} 行)" if line else ""
    if "was not found" in text:
        return f"找不到被调用的流程或决策{where}: {text}"
    return f"图元校验未通过{where}: {text}"


def iter_elements(bundle: ParsedBundle) -> Iterator[ElementInfo]:
    """Yield every element of every process in the bundle with what validation must check."""
    seen: set[tuple[str, str]] = set()
    for pid in bundle.process_files:
        spec, subs = bundle.specs(pid)
        # Embedded subprocesses have specs of their own among `subs` (called processes are walked under their
        # own id, and `seen` keeps each spec's elements to one pass).
        for one in (spec, *subs.values()):
            yield from _spec_elements(bundle, one, seen)


def _spec_elements(bundle: ParsedBundle, spec: Any, seen: set[tuple[str, str]]) -> Iterator[ElementInfo]:
    file = bundle.process_files.get(spec.name, spec.file or "")
    for ts in spec.task_specs.values():
        bpmn_id = getattr(ts, "bpmn_id", None)
        # Keyed by the spec's own name: a multi-instance task and its manual "[child]" share one bpmn id.
        if not bpmn_id or (spec.name, ts.name) in seen:
            continue
        seen.add((spec.name, ts.name))
        info = ElementInfo(
            file,
            spec.name,
            bpmn_id,
            getattr(ts, "bpmn_name", None) or "",
            ts.__class__.__name__,
            lane=getattr(ts, "lane", None),
        )
        ext = getattr(ts, "extensions", {}) or {}
        props = ext.get("properties", {}) or {}
        if getattr(ts, "manual", False):
            info.kind = "userTask"
            info.form = props.get("formJsonSchemaFilename")
            info.ui_form = props.get("formUiSchemaFilename")
            if props.get("owner"):
                info.expressions.append(("owner", props["owner"], "eval"))
            if props.get("dueIn"):
                info.expressions.append(("dueIn", due_expression(props["dueIn"]), "eval"))
            info.completed_by = props.get("completedBy")
        if isinstance(ts, HandlerServiceTask):
            info.kind = "serviceTask"
            info.operator = ts.operation_name
            info.params = list(ts.operation_params)
            for pname, param in ts.operation_params.items():
                info.expressions.append((f"参数 {pname}", param["value"], "eval"))
        script = getattr(ts, "script", None)
        if isinstance(script, str):
            info.expressions.append(("脚本", script, "exec"))
        for attr, label in (("prescript", "前置脚本"), ("postscript", "后置脚本")):
            if getattr(ts, attr, None):
                info.expressions.append((label, getattr(ts, attr), "exec"))
        # SpiffWorkflow keeps a gateway's outgoing flows as (condition, target name); a BPMN condition is an
        # operator holding the expression text, None on the default flow.
        for condition, _target in getattr(ts, "cond_task_specs", None) or []:
            expression = condition_text(condition)
            if expression:
                info.expressions.append(("条件", expression, "eval"))
        if hasattr(ts, "decision_table") or ts.__class__.__name__ == "BusinessRuleTask":
            info.kind = "businessRuleTask"
            info.decision_id = (getattr(ts, "extensions", None) or {}).get("calledDecisionId")
        if isinstance(ts, SubWorkflowTask):
            info.kind = "callActivity" if isinstance(ts, CallActivity) else "subProcess"
            info.called = ts.spec
        if isinstance(ts, CatchingEvent) or hasattr(ts, "event_definition"):
            definition = getattr(ts, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                info.kind = "timer"
                info.expressions.append(("定时器表达式", definition.expression, "eval"))
        loop_condition = getattr(ts, "condition", None)
        if isinstance(loop_condition, str) and loop_condition:
            info.expressions.append(("循环条件", loop_condition, "eval"))
        yield info


def condition_text(condition: Any) -> str | None:
    """Return the expression text of a gateway flow's condition (a string or a BPMN condition operator)."""
    if isinstance(condition, str):
        return condition
    args = getattr(condition, "args", None)
    return args[0] if args and isinstance(args[0], str) else None


def check_timer_value(value: Any) -> str | None:
    """Return a problem with an evaluated timer expression, or None when SpiffWorkflow can use it."""
    if isinstance(value, datetime):
        return None
    if not isinstance(value, str):
        return '定时器表达式必须得到 ISO 8601 字符串(如 "P5D")'
    text = value.strip().upper()
    try:
        if text.startswith("R"):
            TimerEventDefinition.parse_iso_recurring_interval(text)
        else:
            TimerEventDefinition.parse_time_or_duration(text)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad durations
        return f"无法识别的时间表达式: {value}"
    return None


# ----------------------------------------------------------------------------- state


class _StateConverter(BpmnWorkflowConverter):
    """Stores a workflow without its specs: specs live once per version, parsed and cached."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):  # noqa: ANN001, ANN201
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateConverter
_config[HandlerServiceTask] = _config[SpiffServiceTask]  # specs are compared (not stored) when migrating
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)


# Set by the test suite: every dump is also made by SpiffWorkflow's converter and the two must agree, and
# every snapshot's task set is checked against SpiffWorkflow's own tree walk.
VERIFY_STATE = False


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialise a workflow's state (not its spec) to JSON, in SpiffWorkflow's own layout."""
    text = json.dumps(_workflow_state(workflow), cls=_serializer._encoder_cls, ensure_ascii=False)
    if VERIFY_STATE and json.loads(text) != json.loads(_spiff_dump_state(workflow)):
        raise AssertionError("fast state dump differs from SpiffWorkflow's converter")
    return text


def _spiff_dump_state(workflow: BpmnWorkflow) -> str:
    """The reference dump: SpiffWorkflow's registry, in its encoder mode."""
    _registry._encoder_mode = True
    try:
        return json.dumps(_registry.convert(workflow), cls=_serializer._encoder_cls, ensure_ascii=False)
    finally:
        _registry._encoder_mode = False


# SpiffWorkflow's converter spends most of a dump in generic dispatch (a registry lookup per value) and in
# str(UUID). The functions below build the same dictionaries directly; values inside task data are left
# to the JSON encoder, exactly as SpiffWorkflow's encoder mode does.
_UUID_TEXT: dict[UUID, str] = {}


def _uuid_text(uid: UUID) -> str:
    text = _UUID_TEXT.get(uid)
    if text is None:
        if len(_UUID_TEXT) > 200_000:
            _UUID_TEXT.clear()
        text = _UUID_TEXT[uid] = str(uid)
    return text


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if not callable(v) and not isinstance(v, ModuleType)}


def _task_state(task: Any, typename: str) -> dict[str, Any]:
    parent = task.parent
    if parent is None:
        data, delta = task.data, {}
    else:
        before, after = parent.data, task.data
        data = {}
        delta = {
            "updates": {k: v for k, v in after.items() if k not in before or v != before[k]},
            "deletions": [k for k in before if k not in after],
        }
    return {
        "id": _uuid_text(task.id),
        "parent": _uuid_text(task._parent) if parent is not None else None,
        "children": [_uuid_text(c) for c in task._children],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": _clean(task.internal_data),
        "data": data,
        "delta": delta,
        "typename": typename,
    }


def _common_state(workflow: Any) -> dict[str, Any]:
    typenames = _registry.typenames
    return {
        "data": _clean(workflow.data),
        "correlations": workflow.correlations,
        "last_task": _uuid_text(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {_uuid_text(k): _task_state(t, typenames[t.__class__]) for k, t in workflow.tasks.items()},
        "root": _uuid_text(workflow.task_tree.id),
    }


def _workflow_state(workflow: BpmnWorkflow) -> dict[str, Any]:
    typenames = _registry.typenames
    dct = _common_state(workflow)
    subprocesses = {}
    for key, sub in workflow.subprocesses.items():
        sub_dct = _common_state(sub)
        sub_dct["parent_task_id"] = str(sub.parent_task_id)
        sub_dct["spec"] = sub.spec.name
        sub_dct["typename"] = typenames[sub.__class__]
        subprocesses[str(key)] = sub_dct
    dct["subprocesses"] = subprocesses
    dct["bpmn_events"] = workflow.bpmn_events
    dct["typename"] = typenames[workflow.__class__]
    return dct


def restore_state(state_json: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Rebuild a workflow from stored state and its version's cached specs."""
    return _registry.restore(json.loads(state_json), spec=spec, subprocess_specs=subprocess_specs)


def new_workflow(spec: Any, subprocess_specs: dict[str, Any], data: dict[str, Any]) -> BpmnWorkflow:
    """Create a workflow with its initial data on the root task."""
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.task_tree.data.update(data)
    return workflow


# ----------------------------------------------------------------------------- running


@dataclass
class UserTaskView:
    """A READY user task as the runtime projects it into human_task."""

    guid: str
    spec_id: str
    name: str
    process_id: str
    lane: str | None
    form: str | None
    owner_expr: str | None
    due_expr: str | None
    instructions: str | None
    # The loop iteration the task runs in (the id of the enclosing loop's child task), None outside loops: a
    # task reached again in the same round is a correction, in a new round a new period.
    round_key: str | None = None


@dataclass
class StepFailure:
    """An uncaught failure: the task is left in ERROR and the instance becomes an incident."""

    task_guid: str | None
    spec_id: str | None
    message: str
    traceback: str


def run(workflow: BpmnWorkflow, engine: StepEngine) -> None:
    """Run engine steps until only user tasks or waiting events remain; timers due now fire."""
    workflow.script_engine = engine
    workflow.refresh_timers()
    workflow.do_engine_steps()
    # A timer that fires in do_engine_steps' trailing refresh leaves READY tasks behind.
    while workflow.get_next_task(state=TaskState.READY, manual=False) is not None:
        workflow.do_engine_steps()


def ready_user_tasks(workflow: BpmnWorkflow) -> list[UserTaskView]:
    """Return the READY manual tasks of the workflow and its subprocesses."""
    return [_view(task) for task in workflow.get_tasks(state=TaskState.READY, manual=True)]


def _view(task: Any) -> UserTaskView:
    view = _view_of(task.task_spec, str(task.id), task.workflow.spec.name)
    view.round_key = _round_of(task)
    return view


def _round_of(task: Any) -> str | None:
    """The id of the innermost loop iteration (a standard loop's or multi-instance's child) around a task."""
    workflow = task.workflow
    top = getattr(workflow, "top_workflow", None)
    while top is not None and workflow is not top:
        parent = top.get_task_from_id(workflow.parent_task_id)
        if "iteration" in parent.internal_data or "key_or_index" in parent.internal_data:
            return str(parent.id)
        workflow = parent.workflow
    return None


def _view_of(ts: Any, guid: str, process_id: str) -> UserTaskView:
    ext = getattr(ts, "extensions", {}) or {}
    props = ext.get("properties", {}) or {}
    return UserTaskView(
        guid=guid,
        spec_id=ts.bpmn_id or ts.name,
        name=ts.bpmn_name or ts.bpmn_id or ts.name,
        process_id=process_id,
        lane=ts.lane,
        form=props.get("formJsonSchemaFilename"),
        owner_expr=props.get("owner"),
        due_expr=due_expression(props.get("dueIn")),
        instructions=ext.get("instructionsForEndUser"),
    )


_BARE_DURATION = re.compile(r"\s*P[0-9YMWDTHS.,]+\s*", re.IGNORECASE)


def _quote_bare_timer_durations(spec: Any) -> None:
    """Read a timer written as a bare ISO 8601 duration (P5D, as 办理期限 accepts it) as that literal text."""
    for ts in spec.task_specs.values():
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and isinstance(definition.expression, str):
            definition.expression = due_expression(definition.expression)


def due_expression(raw: str | None) -> str | None:
    """A task's `dueIn` as an expression: a bare ISO 8601 duration (P5D, as the modeler asks) is a literal."""
    if raw and _BARE_DURATION.fullmatch(raw):
        return repr(raw.strip().upper())
    return raw


def completed_by_variable(workflow: BpmnWorkflow, guid: str) -> str | None:
    """Return the variable a user task records its completer's user name in (`completedBy`), if it has one."""
    task = find_ready_task(workflow, guid)
    if task is None:
        return None
    props = (getattr(task.task_spec, "extensions", None) or {}).get("properties") or {}
    return props.get("completedBy") or None


def find_ready_task(workflow: BpmnWorkflow, guid: str):  # noqa: ANN201
    """Return the READY user task with this id, or None."""
    try:
        task = workflow.get_task_from_id(UUID(guid))
    except (ValueError, KeyError, TypeError, SpiffWorkflowException):
        return None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        return None
    return task


def task_data(workflow: BpmnWorkflow, guid: str) -> dict[str, Any]:
    """Return one task's data dict (the live object)."""
    return workflow.get_task_from_id(UUID(guid)).data


def after(start: datetime, duration: str) -> datetime | None:
    """Return `start` plus an ISO 8601 duration ("P5D", "PT2H"), or None when it is not one."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(duration.strip().upper())
        return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad durations
        return None


def evaluate_for_task(workflow: BpmnWorkflow, guid: str, expression: str, engine: StepEngine) -> Any:
    """Evaluate an expression against one task's data in the sandbox."""
    task = workflow.get_task_from_id(UUID(guid))
    return engine.evaluate(task, expression)


def complete_user_task(workflow: BpmnWorkflow, guid: str, data: dict[str, Any], engine: StepEngine) -> None:
    """Merge `data` into a READY user task, complete it and run the engine on."""
    workflow.script_engine = engine
    task = workflow.get_task_from_id(UUID(guid))
    task.data.update(data)
    task.run()
    run(workflow, engine)


def failure_from(err: Exception, workflow: BpmnWorkflow) -> StepFailure:
    """Describe an exception raised while running engine steps."""
    task = getattr(err, "task", None)
    if task is None:
        errored = workflow.get_tasks(state=TaskState.ERROR)
        task = errored[0] if errored else None
    cause = err.__cause__ or err.__context__
    message = str(err)
    if isinstance(err, WorkflowTaskException) and getattr(err, "exception", None) is not None:
        message = f"{err}: {err.exception}"
    elif cause is not None and str(cause) not in message:
        message = f"{message}: {cause}"
    return StepFailure(
        task_guid=str(task.id) if task is not None else None,
        spec_id=(task.task_spec.bpmn_id or task.task_spec.name) if task is not None else None,
        message=message,
        traceback="".join(tb.format_exception(err)),
    )


ENGINE_ERRORS = (SpiffWorkflowException, HandlerError, HandlerFailed, scripting.ScriptError, RecursionError)


def errored_task_guids(workflow: BpmnWorkflow) -> list[str]:
    """Return the ids of tasks in ERROR."""
    return [str(t.id) for t in workflow.get_tasks(state=TaskState.ERROR)]


def retry_task(workflow: BpmnWorkflow, guid: str, engine: StepEngine) -> None:
    """Reset a failed task to READY and run the engine again."""
    workflow.script_engine = engine
    workflow.reset_from_task_id(UUID(guid))
    run(workflow, engine)


def compact(workflow: BpmnWorkflow) -> int:
    """Drop finished iterations of standard loops so that a step's cost does not grow with the loop count.

    SpiffWorkflow keeps every finished iteration (and its subprocess) in the tree and walks the whole tree
    on every step. A finished iteration's data is already merged into its loop task and its history is in
    instance_event, so dropping it loses nothing. Returns how many tasks were dropped.
    """
    if not _has_loops(workflow):
        return 0
    dropped = 0
    for wf in [workflow, *list(workflow.subprocesses.values())]:
        for task in list(wf.tasks.values()):
            if not isinstance(task.task_spec, StandardLoopTask) or task.state != TaskState.STARTED:
                continue
            for child in [c for c in task.children if c is not None and c.state == TaskState.COMPLETED]:
                dropped += _drop_subtree(workflow, wf, child)
            task._children = [cid for cid in task._children if cid in wf.tasks]
            if wf.last_task is not None and wf.last_task.id not in wf.tasks:
                wf.last_task = task
    return dropped


def _drop_subtree(top: BpmnWorkflow, wf: Any, task: Any) -> int:
    count = 0
    stack = [task]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.children if c is not None)
        if current.id in top.subprocesses:
            for removed in top.delete_subprocess(current):
                top.event_manager.remove_task(removed)
        top.event_manager.remove_task(current)
        wf.tasks.pop(current.id, None)
        count += 1
    return count


def _has_loops(workflow: BpmnWorkflow) -> bool:
    spec = workflow.spec
    cached = getattr(spec, "_egovflow_has_loops", None)
    if cached is None:
        specs = [spec, *workflow.subprocess_specs.values()]
        cached = any(isinstance(ts, StandardLoopTask) for sp in specs for ts in sp.task_specs.values())
        spec._egovflow_has_loops = cached
    return cached


def cancel(workflow: BpmnWorkflow) -> None:
    """Cancel every unfinished task (terminate)."""
    workflow.cancel()


_TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    """Return when the earliest waiting timer falls due, or None."""
    due = []
    for event in workflow.waiting_events():
        if event.event_type in _TIMER_EVENTS and isinstance(event.value, str):
            try:
                due.append(TimerEventDefinition.get_datetime(event.value))
            except ValueError:
                continue
    return min(due, default=None)


def waiting_messages(workflow: BpmnWorkflow) -> set[str]:
    """Return the names of the messages the workflow waits for."""
    return {e.name for e in workflow.waiting_events() if "Message" in e.event_type}


def thrown_messages(workflow: BpmnWorkflow) -> list[tuple[str, Any]]:
    """Drain the messages thrown to other processes: (name, payload)."""
    out = []
    for event in workflow.get_events():
        definition = event.event_definition
        if definition.__class__.__name__ == "MessageEventDefinition":
            out.append((definition.name, event.payload))
    return out


def deliver_message(workflow: BpmnWorkflow, name: str, payload: Any, engine: StepEngine) -> bool:
    """Deliver a message to a waiting workflow and run it on; False when it was not waiting."""
    workflow.script_engine = engine
    event = BpmnEvent(MessageEventDefinition(name), payload=payload)
    if workflow.event_manager.catch(event, internal=False) == 0:
        return False
    run(workflow, engine)
    return True


# ----------------------------------------------------------------------------- migration


@dataclass
class MigrationPlan:
    """What moving a workflow onto another version's specs changes, or why it cannot be moved."""

    problems: list[str] = field(default_factory=list)  # empty: the move can be (or was) made
    changed: list[str] = field(default_factory=list)  # open elements whose definition changed
    added: list[str] = field(default_factory=list)  # elements only the new version has
    removed: list[str] = field(default_factory=list)  # elements only the old version has (none reached)
    refreshed: list[str] = field(default_factory=list)  # READY user tasks whose name, lane or form changed


_PREDICTED = TaskState.MAYBE | TaskState.LIKELY | TaskState.FUTURE  # not reached yet: safe to redo
_AHEAD_OF = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)  # tasks whose successors are predicted
_ROW_FIELDS = ("name", "lane", "form", "owner_expr", "due_expr", "instructions")  # a human_task row's facts
_REACHED = {TaskState.COMPLETED: "已办结", TaskState.CANCELLED: "已取消", TaskState.ERROR: "出错待重试"}


def migrate(workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict[str, Any]) -> MigrationPlan:
    """Move a workflow onto another version's specs, in place; returns what changed or why it cannot.

    Tasks are matched to the new specs by element id (SpiffWorkflow's SpecDiff). Every task that ran or
    is open must still exist; what lies ahead of the open tasks is predicted again from the new diagram,
    so an element added after the current one is reached and one removed is not. Open tasks keep their
    state and data (a waiting timer keeps its due time). With problems the workflow may be half-moved:
    the caller must discard it (it works on a copy restored for the purpose).
    """
    plan = MigrationPlan()
    pairs = [(workflow, spec)]
    for sub in workflow.subprocesses.values():
        new = subprocess_specs.get(sub.spec.name)
        if new is None:
            plan.problems.append(f"子流程「{sub.spec.name}」在新版本中不存在")
        pairs.append((sub, new))
    if plan.problems:
        return plan
    diffs = [(wf, new, SpecDiff(_registry, wf.spec, new)) for wf, new in pairs]
    for wf, new, diff in diffs:
        _plan_one(plan, wf, new, diff)
    if plan.problems:
        return plan
    for wf, new, diff in diffs:
        wf.spec = new
        for task in wf.tasks.values():
            task.task_spec = _aligned(task.task_spec, new, diff) or task.task_spec
    workflow.subprocess_specs = subprocess_specs
    for wf, _new, _diff in diffs:
        _predict_again(wf)
    for wf, new, _diff in diffs:
        for task in wf.tasks.values():
            if new.task_specs.get(task.task_spec.name) is not task.task_spec:
                plan.problems.append(f"环节「{_element_label(task.task_spec)}」无法对应到新版本")
    if not plan.problems:
        try:
            restore_state(dump_state(workflow), spec, subprocess_specs)
        except Exception as err:  # noqa: BLE001 - whatever SpiffWorkflow raises, the move is refused
            plan.problems.append(f"迁移后的状态无法恢复：{err}")
    return plan


def _aligned(old: Any, new_spec: Any, diff: SpecDiff) -> Any:
    """The new version's spec for an old one: as SpecDiff aligned it, else by element id, else None."""
    if old in diff.alignment:
        return diff.alignment[old]
    return new_spec.task_specs.get(old.name)


def _plan_one(plan: MigrationPlan, wf: Any, new_spec: Any, diff: SpecDiff) -> None:
    """Add one (sub)workflow's findings to the plan."""
    plan.added += [_element_label(ts) for ts in diff.added if ts.bpmn_id]
    plan.removed += [_element_label(ts) for ts in diff.removed if getattr(ts, "bpmn_id", None)]
    for task in wf.tasks.values():
        old = task.task_spec
        new = _aligned(old, new_spec, diff)
        if new is None:
            if not task.has_state(_PREDICTED):
                reached = _REACHED.get(task.state, "正在进行")
                plan.problems.append(f"环节「{_element_label(old)}」{reached}，新版本中已删除")
            continue
        if task.state not in (*_AHEAD_OF, TaskState.ERROR) or not getattr(old, "bpmn_id", None):
            continue
        if set(diff.comparisons.get(old, [])) - {"inputs", "outputs"}:
            plan.changed.append(_element_label(new))
        if task.state == TaskState.READY and old.manual and _row_facts(old) != _row_facts(new):
            plan.refreshed.append(str(task.id))


def _row_facts(spec: Any) -> tuple[Any, ...]:
    """What a READY user task's human_task row is made from, for one spec."""
    view = _view_of(spec, guid="", process_id="")
    return tuple(getattr(view, name) for name in _ROW_FIELDS)


def _predict_again(wf: Any) -> None:
    """Drop and predict again what lies ahead of each open task, from its (new) spec's outputs."""
    for task in list(wf.tasks.values()):
        if task.id not in wf.tasks or task.state not in _AHEAD_OF:
            continue
        if all(child.has_state(_PREDICTED) for child in task.children):
            task._drop_children(force=True)
            task.task_spec._predict(task, mask=_PREDICTED | task.state)


def _element_label(spec: Any) -> str:
    """How an element is named to an admin: its name and id."""
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name}({bpmn_id})" if name and name != bpmn_id else bpmn_id


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[Any]:
    """Every task of the workflow and its subprocesses, in creation order (no tree walk)."""
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


@dataclass
class Snapshot:
    """Everything the runtime projects after a step, gathered in one walk of the task tree."""

    completed: bool
    data: dict[str, Any]
    ready: list[UserTaskView]
    errored: list[str]
    elements: dict[str, dict[str, list[str]]]
    hidden: list[str] = field(default_factory=list)  # open tasks of a workflow that says it is complete


_OPEN = (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR)


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    """Walk the tree once: open data, READY user tasks, failed tasks and element states per process."""
    completed = workflow.is_completed()
    if VERIFY_STATE and {t.id for t in workflow.get_tasks()} != {t.id for t in _all_tasks(workflow)}:
        raise AssertionError("the task maps disagree with SpiffWorkflow's tree walk")
    open_tasks, ready, errored = [], [], []
    elements: dict[str, dict[str, set[str]]] = {}
    for task in _all_tasks(workflow):
        state = task._state
        ts = task.task_spec
        bpmn_id = getattr(ts, "bpmn_id", None)
        if state in _OPEN:
            open_tasks.append(task)
        if state == TaskState.READY and ts.manual:
            ready.append(_view(task))
        elif state == TaskState.ERROR:
            errored.append(str(task.id))
        if bpmn_id:
            per = elements.setdefault(
                task.workflow.spec.name, {"completed": set(), "active": set(), "failed": set()}
            )
            if state == TaskState.COMPLETED:
                per["completed"].add(bpmn_id)
            elif state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                per["active"].add(bpmn_id)
            elif state == TaskState.ERROR:
                per["failed"].add(bpmn_id)
    if completed:
        data = dict(workflow.data) or dict(workflow.last_task.data if workflow.last_task else {})
    else:
        # Open tasks hold the live branches; a branch that finished into a waiting join only has its data
        # on the last task it ran, so the last task of each workflow counts too.
        lasts = [
            wf.last_task for wf in [workflow, *workflow.subprocesses.values()] if wf.last_task is not None
        ]
        data = {}
        for task in sorted([*lasts, *open_tasks], key=lambda t: t.last_state_change):
            data.update(task.data)
    return Snapshot(
        completed,
        data,
        ready,
        errored,
        {pid: {k: sorted(v) for k, v in d.items()} for pid, d in elements.items()},
        [str(t.id) for t in open_tasks if t.state != TaskState.ERROR] if completed else [],
    )


def hidden_tasks_failure(snap: Snapshot) -> StepFailure:
    """The incident for a workflow that reports itself complete while tasks are still open."""
    message = (
        "SpiffWorkflow 报告流程已完成，但仍有未完成的任务（任务树过深，常见于回退循环次数过多）；"
        "实例未标记为完成，请流程管理员检查流程图"
    )
    return StepFailure(snap.hidden[0], None, message, "")
