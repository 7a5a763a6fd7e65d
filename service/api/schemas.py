"""Marshmallow schemas shared by the API blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import marshmallow as ma

from processes.queries import SORT_ORDERS


class ErrorSchema(ma.Schema):
    code = ma.fields.Str()
    status = ma.fields.Int()
    message = ma.fields.Str()
    errors = ma.fields.Raw()
    detail = ma.fields.Dict()


class NonBlank(ma.fields.String):
    """A name: spaces around it are dropped, and one of spaces only is refused."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ma.ValidationError("此项不能为空")
        return text


class WholeNumber(ma.fields.Integer):
    """An integer argument that refuses a fraction (1.9) instead of cutting it off as marshmallow does."""

    def _validated(self, value: object) -> int | None:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._validated(value)


PLAN_YEARS = ma.validate.Range(min=2000, max=2100)  # the years a plan-year filter accepts
MAX_PAGE = 1_000_000  # beyond any list here; keeps the row offset within what databases accept


class PageArgs(ma.Schema):
    page = WholeNumber(
        load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE), metadata={"title": "页码"}
    )
    page_size = WholeNumber(
        load_default=20, validate=ma.validate.Range(min=1, max=200), metadata={"title": "每页条数"}
    )


class FieldMessage(str):
    """A validation message written for people, naming fields by their titles: list pages show it as it is."""

    __slots__ = ()


def sort_order_field(description: str) -> ma.fields.Str:
    """Return a list's `order` argument: asc or desc; left out, the sort key's own default direction."""
    return ma.fields.Str(
        validate=ma.validate.OneOf(SORT_ORDERS),
        metadata={"title": "排序方向", "description": f"asc 升序，desc 降序；不填时{description}"},
    )


def _comparable(value: Any) -> Any:
    """A bound as it compares: a time without an offset is taken to be UTC, as the queries store it."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class RangeArgs(PageArgs):
    """List arguments with pairs of bounds (lower, upper): a lower bound above its upper one names both."""

    ranges: ClassVar[tuple[tuple[str, str], ...]] = ()

    @ma.validates_schema(pass_original=True)
    def _check_ranges(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        for low, high in self.ranges:
            if data.get(low) is None or data.get(high) is None:
                continue
            if _comparable(data[low]) > _comparable(data[high]):
                verb = "晚于" if isinstance(data[low], datetime) else "大于"
                message = FieldMessage(
                    f"{self._title(low)}「{self._given(original, data, low)}」不能{verb}"
                    f"{self._title(high)}「{self._given(original, data, high)}」"
                )
                errors[low], errors[high] = [message], [message]
        if errors:
            raise ma.ValidationError(errors)

    def _title(self, name: str) -> str:
        return str(self.fields[name].metadata.get("title") or name)

    @staticmethod
    def _given(original: Any, data: dict[str, Any], name: str) -> str:
        """The value as the caller wrote it (as loaded when the raw input is not at hand)."""
        raw = original.get(name) if isinstance(original, Mapping) else None
        return str(raw) if isinstance(raw, str) and raw else str(data[name])


class UserBrief(ma.Schema):
    username = ma.fields.Str()
    display_name = ma.fields.Str()


class OrgBrief(ma.Schema):
    code = ma.fields.Str()
    name = ma.fields.Str()
    short_name = ma.fields.Str()


class TaskSchema(ma.Schema):
    id = ma.fields.Int()
    instance_id = ma.fields.Int()
    name = ma.fields.Str()
    spec_id = ma.fields.Str()
    process_id = ma.fields.Str()
    lane = ma.fields.Str(allow_none=True)
    role_code = ma.fields.Str(allow_none=True)
    status = ma.fields.Str()
    form = ma.fields.Str(allow_none=True)
    created_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    assignee = ma.fields.Nested(UserBrief, allow_none=True)
    claimed_by = ma.fields.Nested(UserBrief, allow_none=True)
    completed_by = ma.fields.Nested(UserBrief, allow_none=True)
    instance_title = ma.fields.Function(lambda t: t.instance.title)
    project_id = ma.fields.Function(lambda t: t.instance.project_id)


class PageSchema(ma.Schema):
    """What every list page answers besides its items: how many in all, which page, how long a page."""

    total = ma.fields.Int()
    page = WholeNumber()
    page_size = WholeNumber()


class TaskPage(PageSchema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema))


class InstanceSchema(ma.Schema):
    id = ma.fields.Int()
    process_id = ma.fields.Str()
    version = ma.fields.Function(lambda i: i.version.version)
    status = ma.fields.Str()
    title = ma.fields.Str(allow_none=True)
    project_id = ma.fields.Str(allow_none=True)
    stage = ma.fields.Str(allow_none=True)
    total_estimate = ma.fields.Float(allow_none=True)
    plan_year = ma.fields.Int(allow_none=True)
    unit = ma.fields.Nested(OrgBrief, allow_none=True)
    initiator = ma.fields.Nested(UserBrief, allow_none=True)
    started_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    ended_at = ma.fields.DateTime(allow_none=True)
    next_wakeup_at = ma.fields.DateTime(allow_none=True)
    serializer_version = ma.fields.Str()


class InstancePage(PageSchema):
    items = ma.fields.List(ma.fields.Nested(InstanceSchema))


class EventSchema(ma.Schema):
    id = ma.fields.Int()
    at = ma.fields.DateTime()
    kind = ma.fields.Str()
    user = ma.fields.Nested(UserBrief, allow_none=True)
    spec_id = ma.fields.Str(allow_none=True)
    task_name = ma.fields.Str(allow_none=True)
    detail = ma.fields.Dict()


class IncidentSchema(ma.Schema):
    id = ma.fields.Int()
    task_guid = ma.fields.Str(allow_none=True)
    spec_id = ma.fields.Str(allow_none=True)
    message = ma.fields.Str()
    traceback = ma.fields.Str()
    created_at = ma.fields.DateTime()
    resolved_at = ma.fields.DateTime(allow_none=True)


class InstanceDetail(InstanceSchema):
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema))
    history = ma.fields.List(ma.fields.Nested(EventSchema))
    incidents = ma.fields.List(ma.fields.Nested(IncidentSchema))
    data = ma.fields.Dict(allow_none=True)
