"""Errors of the engine runtime; `service/` turns them into HTTP statuses and exit codes.

ProcessError
 ├── NotFound                 an instance, task, version or file does not exist
 ├── BundleInvalid            a deployment bundle failed validation (carries problems)
 ├── FormInvalid              submitted data does not match the task's form (carries field errors)
 ├── Conflict                 the task or instance is no longer in a state that allows the change
 └── NotAllowed               the user may not do this
"""

from __future__ import annotations

from dataclasses import dataclass


class ProcessError(Exception):
    """Base of every error the runtime raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ProcessError):
    """The thing asked for does not exist."""


class NotAllowed(ProcessError):
    """The user lacks the role or unit for this action."""


class Conflict(ProcessError):
    """The state changed under the caller: a task already completed, an instance suspended…"""

    def __init__(self, message: str, detail: dict | None = None) -> None:
        super().__init__(message)
        self.detail = detail or {}


class FormInvalid(ProcessError):
    """Submitted task data failed the form's JSON Schema."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("表单填写有误，请按提示修改")
        self.errors = errors


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file and element id."""

    file: str
    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.element_id or '-'}: {self.message}"


class BundleInvalid(ProcessError):
    """A bundle of diagrams, tables and forms cannot be deployed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"校验未通过，共 {len(problems)} 个问题")
        self.problems = problems
