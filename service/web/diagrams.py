"""Read BPMN XML for pages: which file holds a process, what it calls, its flows and lanes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Uploaded XML is parsed without entities or network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)


def parse(xml: str | bytes) -> etree._Element:
    """Parse BPMN/DMN text safely."""
    return etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, _PARSER)


@dataclass
class ProcessInfo:
    """A process found in a version's files."""

    process_id: str
    name: str
    file: str
    calls: list[str]
    call_elements: dict[str, str]  # call activity id -> the process it calls


def processes_in(files: Mapping[str, str]) -> dict[str, ProcessInfo]:
    """Return every process of the .bpmn files, by id, with the processes it calls in document order."""
    out: dict[str, ProcessInfo] = {}
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        try:
            root = parse(text)
        except etree.XMLSyntaxError:
            continue
        for process in root.iter(f"{{{BPMN}}}process"):
            elements = {
                c.get("id", ""): c.get("calledElement", "")
                for c in process.iter(f"{{{BPMN}}}callActivity")
                if c.get("calledElement")
            }
            pid = process.get("id", "")
            calls = list(dict.fromkeys(elements.values()))
            out[pid] = ProcessInfo(pid, process.get("name") or pid, name, calls, elements)
    return out


def call_order(processes: Mapping[str, ProcessInfo], top: str) -> list[str]:
    """Return `top` then the processes it calls, depth first, each once."""
    seen: list[str] = []

    def visit(pid: str) -> None:
        if pid in seen or pid not in processes:
            return
        seen.append(pid)
        for called in processes[pid].calls:
            visit(called)

    visit(top)
    return seen


def called_below(processes: Mapping[str, ProcessInfo], process_id: str) -> set[str]:
    """Return the processes `process_id` calls, directly or through others."""
    return set(call_order(processes, process_id)) - {process_id}


def flows_of(xml: str, process_id: str) -> list[tuple[str, str, str]]:
    """Return (flow id, source id, target id) of a process's sequence flows."""
    root = parse(xml)
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("id") == process_id:
            return [
                (f.get("id", ""), f.get("sourceRef", ""), f.get("targetRef", ""))
                for f in process.iter(f"{{{BPMN}}}sequenceFlow")
            ]
    return []


def taken_flows(flows: Iterable[tuple[str, str, str]], completed: set[str], active: set[str]) -> list[str]:
    """Return the flows whose source completed and whose target completed or is active (an approximation:
    the engine's projection records elements, not flows)."""
    reached = completed | active
    return [fid for fid, source, target in flows if source in completed and target in reached]


def lane_names(files: Mapping[str, str]) -> set[str]:
    """Return the lane names used by the .bpmn files."""
    names: set[str] = set()
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        try:
            root = parse(text)
        except etree.XMLSyntaxError:
            continue
        names |= {lane.get("name", "").strip() for lane in root.iter(f"{{{BPMN}}}lane") if lane.get("name")}
    return names - {""}
