"""File attachments: upload (stored with SHA-256 and SM3 digests) and download."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers.doc_store import sm3_hex
from processes import queries
from processes.errors import FormInvalid, NotFound
from processes.runtime import can_work_on
from processes.store.models import Attachment, HumanTask, ProcessInstance, TaskStatus, User
from processes.uploads import upload_refs
from service import auth
from service.converters import MAX_ROW_ID
from service.db import get_session, runtime

blp = Blueprint("attachments", __name__, url_prefix="/api/v1/attachments", description="附件")
ALLOWED_SUFFIXES = (
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ofd",
    ".png",
    ".jpg",
    ".jpeg",
    ".zip",
    ".txt",
    ".wps",
    ".et",
)
# The columns' lengths: a longer value is a field error, not a driver failure (PostgreSQL refuses it).
MAX_KIND, MAX_TASK_GUID, MAX_CONTENT_TYPE = 40, 36, 100
# A media type as `type/subtype` (what the download answers with); anything else is stored as a byte stream.
MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,40}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,56}")
ROW_ID = re.compile(r"[0-9]{1,10}")


class AttachmentSchema(ma.Schema):
    id = ma.fields.Int()
    filename = ma.fields.Str()
    size = ma.fields.Int()
    sha256 = ma.fields.Str()
    sm3 = ma.fields.Str()
    kind = ma.fields.Str(allow_none=True)
    content_type = ma.fields.Str()
    uploaded_at = ma.fields.DateTime()


@blp.route("")
class Upload(MethodView):
    @blp.response(201, AttachmentSchema)
    def post(self):
        """Upload one file (multipart field `file`, optional `kind`, `instance_id`, `task_guid`)."""
        user = auth.require_user()
        # Reading and hashing the body can take a while: no transaction (on SQLite, the write lock) is held
        # meanwhile. The user stays loaded (the session does not expire objects on commit).
        get_session().commit()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise FormInvalid({"file": ["请选择要上传的文件"]})
        name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
            raise FormInvalid({"file": ["文件名不能包含控制字符"]})
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise FormInvalid({"file": [f"不支持的文件类型，允许: {' '.join(ALLOWED_SUFFIXES)}"]})
        kind = request.form.get("kind") or None
        task_guid = request.form.get("task_guid") or None
        errors: dict[str, list[str]] = {}
        if kind is not None and len(kind) > MAX_KIND:
            errors["kind"] = [f"长度不能超过 {MAX_KIND}"]
        if task_guid is not None and len(task_guid) > MAX_TASK_GUID:
            errors["task_guid"] = [f"长度不能超过 {MAX_TASK_GUID}"]
        instance_id = _instance_id(request.form.get("instance_id"), errors)
        if errors:
            raise FormInvalid(errors)
        session = get_session()
        if instance_id is not None:
            _check_may_attach(session, user, instance_id)
        content = upload.read()
        if not content:
            raise FormInvalid({"file": ["文件为空"]})
        mimetype = upload.mimetype
        attachment = Attachment(
            instance_id=instance_id,
            task_guid=task_guid,
            filename=name,
            content_type=mimetype if MEDIA_TYPE.fullmatch(mimetype) else "application/octet-stream",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            sm3=sm3_hex(content),
            kind=kind,
            content=content,
            uploaded_by_id=user.id,
            uploaded_at=runtime().clock.now(),
        )
        session.add(attachment)
        session.commit()
        return attachment


def _instance_id(value: str | None, errors: dict[str, list[str]]) -> int | None:
    """The form's `instance_id` as a row id, None when not given; a malformed one is a field error."""
    if value is None or value == "":
        return None
    if ROW_ID.fullmatch(value) and 0 < int(value) <= MAX_ROW_ID:
        return int(value)
    errors["instance_id"] = ["应为有效的流程实例编号"]
    return None


def _check_may_attach(session: Session, user: User, instance_id: int) -> None:
    """Refuse (404, as reading it would) an instance the caller neither sees nor has an open task of."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is not None and queries.can_see_instance(session, user, instance):
        return
    if instance is not None:
        open_tasks = session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY
            )
        )
        if any(can_work_on(session, user, task) for task in open_tasks):
            return  # e.g. an expert's scoring task: no sight of the instance, but work on it
    raise NotFound(f"流程实例 {instance_id} 不存在")


@blp.route("/<int:attachment_id>")
class Download(MethodView):
    @blp.response(200)
    def get(self, attachment_id: int):
        """Download a file (uploader, anyone who may see its instance, or whose task showed it)."""
        user = auth.require_user()
        session = get_session()
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or not _may_read(user, attachment):
            raise NotFound(f"附件 {attachment_id} 不存在")
        return Response(
            attachment.content,
            mimetype=attachment.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
                "X-Content-SHA256": attachment.sha256,
                "X-Content-SM3": attachment.sm3,
            },
        )


def uploaded_files(value: Any) -> Iterator[tuple[int, str | None]]:
    """Yield (id, 材料类型 or None) of each upload form data references ({id, filename, sha256, …})."""
    for ref in upload_refs(value):
        kind = ref.get("kind")
        yield int(ref["id"]), kind if isinstance(kind, str) and kind else None


def readable_ids(user: User, ids: Iterable[int]) -> set[int]:
    """Return which of these attachments `user` may download (the download route's rule)."""
    wanted = {i for i in ids if 0 < i <= MAX_ROW_ID}
    if not wanted:
        return set()
    rows = list(get_session().scalars(select(Attachment).where(Attachment.id.in_(wanted))))
    return _readable(user, rows)


def _may_read(user: User, attachment: Attachment) -> bool:
    return attachment.id in _readable(user, [attachment])


def _readable(user: User, attachments: list[Attachment]) -> set[int]:
    """The ids of these attachments `user` may download.

    The uploader, anyone who may see the attachment's instance, and anyone who holds or completed a task of
    that instance whose data (what the task showed, its `context_json`) references it: an expert reads the
    documents their scoring task is about without seeing the instance, where the other experts' scores are.
    An upload linked to no instance is the uploader's alone: a reference written into some task's data does
    not open another person's file (a submission links the submitter's own uploads it references).
    """
    if queries.sees_everything(user):
        return {a.id for a in attachments}
    out = {a.id for a in attachments if a.uploaded_by_id == user.id}
    session = get_session()
    rest = [a for a in attachments if a.id not in out]
    instance_ids = {a.instance_id for a in rest if a.instance_id is not None}
    if instance_ids:
        seen = set(
            session.scalars(
                select(ProcessInstance.id).where(
                    ProcessInstance.id.in_(instance_ids), queries.visible_instances(user)
                )
            )
        )
        out |= {a.id for a in rest if a.instance_id in seen}
    rest = [a for a in rest if a.id not in out and a.instance_id is not None]
    if rest:
        out |= {a.id for a in rest} & _shown_by_own_tasks(user, {a.instance_id for a in rest})
    return out


def _shown_by_own_tasks(user: User, instance_ids: set[int]) -> set[int]:
    """The ids of the attachments referenced by `user`'s tasks (held or completed) of these instances."""
    stmt = select(HumanTask.context_json).where(
        HumanTask.instance_id.in_(instance_ids),
        or_(
            HumanTask.assignee_id == user.id,
            HumanTask.claimed_by_id == user.id,
            HumanTask.completed_by_id == user.id,
        ),
    )
    contexts = get_session().scalars(stmt)
    return {ident for context in contexts for ident, _kind in uploaded_files(context or {})}
