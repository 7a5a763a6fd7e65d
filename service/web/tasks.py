"""The task page and the endpoints that adapt the task API to the form island (schema, submit)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from processes import queries, reports
from processes.errors import FormInvalid, NotAllowed
from processes.runtime import can_work_on
from processes.store.models import Attachment, HumanTask, TaskStatus, User
from service import auth
from service.api.instances import visible_instance
from service.api.tasks import complete, task_detail, visible_task
from service.db import get_session, runtime
from service.web.history import decisions, task_submission

bp = Blueprint("web_tasks", __name__)
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@bp.route("/tasks/<int:task_id>")
def show(task_id: int) -> str:
    """Show a task: instructions, its form (editable when the caller may complete it), facts and decisions."""
    user = auth.require_user()
    task = task_detail(visible_task(task_id))
    session = get_session()
    sees = queries.can_see_instance(session, user, task.instance)
    shown = sees or task.can_complete
    discreet = not queries.knows_reviewers(session, user)  # the unit under review: experts by role only
    history = decisions(session, task.instance_id, task, user.is_admin, user, discreet) if shown else []
    return render_template(
        "task.html",
        section="home",
        task=task,
        instance=task.instance,
        user=user,
        decisions=history,
        sees_instance=sees,
        about_project=queries.is_unit_case(session, task.instance),
        sees_project=bool(task.instance.project_id)
        and reports.project_by_id(session, user, task.instance.project_id) is not None,
        now=runtime().clock.now(),
        may_claim=_may_claim(user, task),
        claimed_by_other=_claimed_by_other(user, task),
    )


def _may_claim(user: User, task: HumanTask) -> bool:
    return (
        task.status == TaskStatus.READY
        and task.claimed_by_id is None
        and task.assignee_id is None
        and can_work_on(get_session(), user, task)
    )


def _claimed_by_other(user: User, task: HumanTask) -> bool:
    return task.status == TaskStatus.READY and task.claimed_by_id not in (None, user.id)


@bp.route("/tasks/<int:task_id>/form.json")
def form_json(task_id: int) -> Response:
    """Return the task's form for the island: {schema, ui, data}; data is the draft, prefill or submission."""
    task = task_detail(visible_task(task_id))
    session = get_session()
    schema = task.schema or EMPTY_SCHEMA
    ui = None
    if task.form and task.form.endswith(".schema.json"):
        ui_name = task.form.replace(".schema.json", ".uischema.json")
        ui = runtime().specs.form(session, task.instance.version, ui_name)
    if task.status == TaskStatus.READY:
        if task.draft is not None:
            data = task.draft
        else:
            # Only a form that keeps its answers (the submitter's: a declaration, a report) reopens with them
            # when returned; a reviewer decides afresh each time (x-keep-answers, frontend/README.md).
            keep = bool(schema.get("x-keep-answers"))
            data = prefill(schema, task.data or {}, queries.earlier_answers(session, task) if keep else None)
    else:
        data = task_submission(session, task, schema.get("properties") or {})
    # Dumped by hand: the app's JSON provider sorts keys, and a form's fields keep the schema's order.
    payload = {"schema": schema, "ui": ui, "data": data, "user_name": auth.require_user().display_name}
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, mimetype="application/json")


def prefill(
    schema: dict[str, Any], instance_data: dict[str, Any], earlier: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return a form's starting values: marked fields from the data, every field when the task runs again.

    On a task's first run only fields marked `readOnly` or `x-prefill` (all, if the form is marked) are
    filled: parallel and multi-instance tasks (joint review opinions, expert scores) share field names, and
    one person's answer must never appear in another's form. A task that runs again (`earlier`: what its
    earlier runs submitted, see `queries.earlier_answers`) starts from its own last answers, and from the
    data for fields those did not change, so a declaration returned for correction is not filled in anew.
    A new round of a loop (a periodic report's next period) has no `earlier`: it starts afresh.
    """
    every = bool(schema.get("x-prefill"))
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if earlier is not None and earlier.get(name) is not None and not prop.get("readOnly"):
            out[name] = earlier[name]
        elif name in instance_data and (
            every
            or prop.get("readOnly")
            or prop.get("x-prefill")
            or (earlier is not None and instance_data[name] is not None)
        ):
            out[name] = instance_data[name]
    return out


@bp.route("/tasks/<int:task_id>/submit", methods=["POST"])
def submit(task_id: int) -> Response:
    """Complete the task from the form island; answers {next_url}: the caller's next task here, else home."""
    visible_task(task_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise FormInvalid({"": ["提交的数据格式不正确"]})
    result = complete(task_id, body["data"])
    if result["next_task_id"]:
        return jsonify({"next_url": url_for("web_tasks.show", task_id=result["next_task_id"]), **result})
    return jsonify({"next_url": url_for("web.home", done=task_id), **result})


@bp.route("/tasks/<int:task_id>/upload", methods=["POST"])
def upload(task_id: int) -> tuple[Response, int]:
    """Upload a file for the form island through POST /api/v1/attachments, then link it to the task.

    Linking at upload time lets everyone who may see the instance download it. The id is returned as
    text because the forms declare attachment ids as strings.
    """
    user = auth.require_user()
    task = visible_task(task_id)
    session = get_session()
    if task.status != TaskStatus.READY or not can_work_on(session, user, task):
        raise NotAllowed("您无权为此任务上传附件")
    # Dispatch to the API's own view, so the checks, digests and storage stay in one place.
    response = current_app.view_functions["attachments.Upload"]()
    meta = response.get_json()
    attachment = session.get(Attachment, meta["id"])
    attachment.instance_id = task.instance_id
    attachment.task_guid = task.task_guid
    session.commit()
    # Empty fields are left out: a form's own default (such as its fixed 材料类型) then still applies.
    return jsonify({**{k: v for k, v in meta.items() if v is not None}, "id": str(meta["id"])}), 201


@bp.route("/instances/<int:instance_id>/continue")
def continue_instance(instance_id: int) -> Response:
    """Go to the caller's next open task of an instance (after starting it), else to the instance page."""
    user = auth.require_user()
    instance = visible_instance(instance_id)
    follow = queries.next_task_id(get_session(), user, instance.id)
    if follow is not None:
        return redirect(url_for("web_tasks.show", task_id=follow))
    return redirect(url_for("web_instances.show", instance_id=instance.id))
