"""The one error a handler raises on purpose: a coded business failure a diagram can catch."""


class HandlerError(Exception):
    """A business rule failed; `code` matches a BPMN error event's errorCode."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
