"""Human tasks: my tasks, my roles' pool, show with form, claim, unclaim, draft, complete."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from processes import queries
from processes.errors import FormInvalid, NotFound
from processes.runtime import can_work_on
from processes.store.models import HumanTask, TaskStatus, User
from service import auth
from service.api.schemas import PageArgs, TaskPage, TaskSchema
from service.db import get_session, runtime

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


class ListArgs(PageArgs):
    scope = ma.fields.Str(load_default="all", validate=ma.validate.OneOf(["mine", "roles", "all"]))
    q = ma.fields.Str(load_default=None)
    sort = ma.fields.Str(load_default="due", validate=ma.validate.OneOf(list(queries.TASK_SORTS)))


class SubmitArgs(ma.Schema):
    data = ma.fields.Dict(keys=ma.fields.Str(), required=True)


class TaskDetail(TaskSchema):
    instructions = ma.fields.Str(allow_none=True)
    schema = ma.fields.Dict(allow_none=True)
    draft = ma.fields.Dict(allow_none=True)
    data = ma.fields.Dict(allow_none=True)
    can_complete = ma.fields.Bool()


class CompleteResult(ma.Schema):
    instance_id = ma.fields.Int()
    instance_status = ma.fields.Str()
    next_task_id = ma.fields.Int(allow_none=True)


def visible_task(task_id: int) -> HumanTask:
    """Return a task the caller may see (their own, their roles', or of an instance they may see)."""
    user = auth.require_user()
    session = get_session()
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if not (
        can_work_on(session, user, task)
        or task.completed_by_id == user.id
        or queries.can_see_instance(session, user, task.instance)
    ):
        raise NotFound(f"任务 {task_id} 不存在")
    return task


def task_detail(task: HumanTask) -> HumanTask:
    """Gather what the task page and API show: form schema, draft, prefill data."""
    user = auth.require_user()
    session = get_session()
    schema = runtime().form_schema(session, task)
    instance = task.instance
    if queries.can_see_instance(session, user, instance):
        data = instance.data_json
    elif can_work_on(session, user, task) or task.completed_by_id == user.id:
        data = task.context_json  # what this task saw: e.g. an expert never sees the other experts' scores
    else:
        data = None
    # Plain attributes read by the response schema; nothing here is written back.
    task.schema, task.draft, task.data = schema, task.draft_json, data
    task.can_complete = task.status == TaskStatus.READY and can_work_on(session, user, task)
    return task


def complete(task_id: int, data: dict) -> dict:
    """Complete a task as the caller and say where to go next (shared by API and pages)."""
    user = auth.require_user()
    session = get_session()
    instance = runtime().complete_task(session, task_id, user, data)
    follow = queries.next_task_id(session, user, instance.id)  # same transaction: no second BEGIN
    session.commit()
    return {"instance_id": instance.id, "instance_status": instance.status, "next_task_id": follow}


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(ListArgs(), location="query")
    @blp.response(200, TaskPage)
    def get(self, args: dict):
        """List open tasks: `mine` (assigned or claimed), `roles` (my roles' pool) or `all`."""
        user = auth.require_user()
        return queries.open_tasks(
            get_session(), user, args["scope"], args["q"], args["sort"], args["page"], args["page_size"]
        )


@blp.route("/<int:task_id>")
class Task(MethodView):
    @blp.response(200, TaskDetail)
    def get(self, task_id: int):
        """Show a task with its form's JSON Schema, instructions, draft and the instance's data."""
        return task_detail(visible_task(task_id))


@blp.route("/<int:task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id: int):
        """Claim a task from the role's pool."""
        user = auth.require_user()
        session = get_session()
        visible_task(task_id)  # a task the caller cannot see is not found, whatever its state
        task = runtime().claim(session, task_id, user)
        session.commit()
        return task


@blp.route("/<int:task_id>/unclaim")
class Unclaim(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id: int):
        """Give a task the caller claimed back to the pool (admins: anyone's)."""
        user = auth.require_user()
        session = get_session()
        visible_task(task_id)
        task = runtime().unclaim(session, task_id, user)
        session.commit()
        return task


class ReassignArgs(ma.Schema):
    username = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))


@blp.route("/<int:task_id>/reassign")
class Reassign(MethodView):
    @blp.arguments(ReassignArgs())
    @blp.response(200, TaskSchema)
    def post(self, args: dict, task_id: int):
        """Give an open task to a named user (process admins)."""
        user = auth.require_user()
        session = get_session()
        assignee = session.scalar(
            select(User).where(User.username == args["username"], User.active.is_(True))
        )
        if assignee is None:
            raise FormInvalid({"username": ["用户不存在"]})
        task = runtime().reassign(session, task_id, user, assignee)
        session.commit()
        return task


@blp.route("/<int:task_id>/draft")
class Draft(MethodView):
    @blp.arguments(SubmitArgs())
    @blp.response(200)
    def post(self, args: dict, task_id: int):
        """Save unfinished form data on the task (whoever may complete it, while it may be completed)."""
        user = auth.require_user()
        session = get_session()
        visible_task(task_id)
        runtime().save_draft(session, task_id, user, args["data"])
        session.commit()
        return {"saved_at": runtime().clock.now().isoformat()}


@blp.route("/<int:task_id>/complete")
class Complete(MethodView):
    @blp.arguments(SubmitArgs())
    @blp.response(200, CompleteResult)
    @blp.alt_response(409, description="任务已被他人办理或已取消")
    @blp.alt_response(422, description="表单校验未通过，errors 按字段给出")
    def post(self, args: dict, task_id: int):
        """Submit the task's form; 422 with field errors when invalid, 409 when already done."""
        return complete(task_id, args["data"])
