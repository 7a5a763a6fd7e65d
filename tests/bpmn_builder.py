"""Build small SpiffWorkflow-dialect BPMN texts for tests (no diagram layout: the engine does not need it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


@dataclass
class Process:
    """A process drawn as a list of elements and flows, rendered with `xml()`."""

    id: str
    name: str = ""
    elements: list[str] = field(default_factory=list)
    flows: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    lanes: dict[str, list[str]] = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)  # bpmn:error / bpmn:message definitions

    def add(self, xml: str, lane: str | None = None, element_id: str | None = None) -> Process:
        """Add an element, optionally in a lane."""
        self.elements.append(xml)
        if lane and element_id:
            self.lanes.setdefault(lane, []).append(element_id)
        return self

    def flow(
        self, source: str, target: str, condition: str | None = None, flow_id: str | None = None
    ) -> Process:
        """Connect two elements, optionally with a condition expression."""
        fid = flow_id or f"f_{source}_{target}"
        self.flows.append((fid, source, target, condition))
        return self

    def chain(self, *ids: str) -> Process:
        """Connect elements in order."""
        for a, b in zip(ids, ids[1:], strict=False):
            self.flow(a, b)
        return self

    def xml(self) -> str:
        """Render the definitions document."""
        incoming: dict[str, list[str]] = {}
        outgoing: dict[str, list[str]] = {}
        for fid, s, t, _ in self.flows:
            outgoing.setdefault(s, []).append(fid)
            incoming.setdefault(t, []).append(fid)
        body = []
        if self.lanes:
            body.append('<bpmn:laneSet id="ls">')
            for i, (lane, members) in enumerate(self.lanes.items()):
                refs = "".join(f"<bpmn:flowNodeRef>{m}</bpmn:flowNodeRef>" for m in members)
                body.append(f'<bpmn:lane id="lane{i}" name={quoteattr(lane)}>{refs}</bpmn:lane>')
            body.append("</bpmn:laneSet>")
        for element in self.elements:
            eid = element.split('id="', 1)[1].split('"', 1)[0]
            links = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming.get(eid, []))
            links += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing.get(eid, []))
            if element.endswith("/>"):
                element = element[:-2] + f">{links}</{element[1:].split()[0]}>"
            elif "</bpmn:extensionElements>" in element:
                at = element.index("</bpmn:extensionElements>") + len("</bpmn:extensionElements>")
                element = element[:at] + links + element[at:]
            else:
                at = element.index(">") + 1
                element = element[:at] + links + element[at:]
            body.append(element)
        for fid, s, t, cond in self.flows:
            if cond:
                body.append(
                    f'<bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}">'
                    f"<bpmn:conditionExpression>{escape(cond)}</bpmn:conditionExpression>"
                    "</bpmn:sequenceFlow>"
                )
            else:
                body.append(f'<bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}"/>')
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs_{self.id}" '
            f'targetNamespace="http://egovflow/test">{"".join(self.extras)}'
            f'<bpmn:process id="{self.id}" name={quoteattr(self.name or self.id)} isExecutable="true">'
            f"{''.join(body)}</bpmn:process></bpmn:definitions>"
        )


def start(eid: str = "start") -> str:
    """A none start event."""
    return f'<bpmn:startEvent id="{eid}"/>'


def end(eid: str = "end") -> str:
    """A none end event."""
    return f'<bpmn:endEvent id="{eid}"/>'


def user_task(
    eid: str,
    name: str,
    form: str | None = None,
    owner: str | None = None,
    due: str | None = None,
    instructions: str | None = None,
) -> str:
    """A user task with Spiff properties."""
    props = ""
    if form:
        props += f'<spiffworkflow:property name="formJsonSchemaFilename" value={quoteattr(form)}/>'
    if owner:
        props += f'<spiffworkflow:property name="owner" value={quoteattr(owner)}/>'
    if due:
        props += f'<spiffworkflow:property name="dueIn" value={quoteattr(due)}/>'
    ext = f"<spiffworkflow:properties>{props}</spiffworkflow:properties>" if props else ""
    if instructions:
        tag = "spiffworkflow:instructionsForEndUser"
        ext += f"<{tag}>{escape(instructions)}</{tag}>"
    return (
        f'<bpmn:userTask id="{eid}" name={quoteattr(name)}>'
        f"<bpmn:extensionElements>{ext}</bpmn:extensionElements></bpmn:userTask>"
    )


def for_each(task: str, collection: str, item: str) -> str:
    """Make a user task a parallel multi-instance: one instance per element of `collection`, named `item`."""
    return task.replace(
        "</bpmn:userTask>",
        f'<bpmn:property id="{collection}" name="{collection}"/>'
        f"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>"
        f'<bpmn:inputDataItem id="{item}" name="{item}"/>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )


def script_task(eid: str, script: str, name: str = "") -> str:
    """A script task."""
    return (
        f'<bpmn:scriptTask id="{eid}" name={quoteattr(name or eid)}>'
        f"<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>"
    )


def service_task(eid: str, operator: str, params: dict[str, str], name: str = "") -> str:
    """A service task calling a handler; parameter values are expressions."""
    ps = "".join(
        f'<spiffworkflow:parameter id="{k}" type="any" value={quoteattr(v)}/>' for k, v in params.items()
    )
    return (
        f'<bpmn:serviceTask id="{eid}" name={quoteattr(name or eid)}><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operator}"><spiffworkflow:parameters>{ps}'
        f"</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        f"</bpmn:serviceTask>"
    )


def gateway(eid: str, kind: str = "exclusive", default: str | None = None) -> str:
    """An exclusive, parallel or inclusive gateway."""
    extra = f' default="{default}"' if default else ""
    return f'<bpmn:{kind}Gateway id="{eid}"{extra}/>'


def timer_boundary(eid: str, attached: str, duration: str, interrupting: bool = True) -> str:
    """A timer boundary event with a duration expression."""
    return (
        f'<bpmn:boundaryEvent id="{eid}" attachedToRef="{attached}" '
        f'cancelActivity="{str(interrupting).lower()}">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{escape(duration)}</bpmn:timeDuration>"
        f"</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    )


def timer_catch(eid: str, expression: str, kind: str = "timeDuration") -> str:
    """An intermediate timer catch event."""
    return (
        f'<bpmn:intermediateCatchEvent id="{eid}"><bpmn:timerEventDefinition>'
        f"<bpmn:{kind}>{escape(expression)}</bpmn:{kind}></bpmn:timerEventDefinition>"
        f"</bpmn:intermediateCatchEvent>"
    )


def error_boundary(eid: str, attached: str, error_ref: str) -> str:
    """An interrupting error boundary event."""
    return (
        f'<bpmn:boundaryEvent id="{eid}" attachedToRef="{attached}">'
        f'<bpmn:errorEventDefinition errorRef="{error_ref}"/></bpmn:boundaryEvent>'
    )


def error_def(eid: str, code: str) -> str:
    """A bpmn:error definition."""
    return f'<bpmn:error id="{eid}" name="{code}" errorCode="{code}"/>'
