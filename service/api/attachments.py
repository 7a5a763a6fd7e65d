"""File attachments: upload (stored with SHA-256 and SM3 digests) and download."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from gmssl import func as sm_func
from gmssl import sm3
from sqlalchemy import select

from processes import queries
from processes.errors import FormInvalid, NotFound
from processes.store.models import Attachment, ProcessInstance, User
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


class AttachmentSchema(ma.Schema):
    id = ma.fields.Int()
    filename = ma.fields.Str()
    size = ma.fields.Int()
    sha256 = ma.fields.Str()
    sm3 = ma.fields.Str()
    kind = ma.fields.Str(allow_none=True)
    content_type = ma.fields.Str()
    uploaded_at = ma.fields.DateTime()


def sm3_hex(content: bytes) -> str:
    """Return the SM3 digest of bytes (GB/T 32905)."""
    return sm3.sm3_hash(sm_func.bytes_to_list(content))


@blp.route("")
class Upload(MethodView):
    @blp.response(201, AttachmentSchema)
    def post(self):
        """Upload one file (multipart field `file`, optional `kind`, `instance_id`, `task_guid`)."""
        user = auth.require_user()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise FormInvalid({"file": ["请选择要上传的文件"]})
        name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise FormInvalid({"file": [f"不支持的文件类型，允许: {' '.join(ALLOWED_SUFFIXES)}"]})
        content = upload.read()
        if not content:
            raise FormInvalid({"file": ["文件为空"]})
        instance_id = request.form.get("instance_id", type=int)
        attachment = Attachment(
            instance_id=instance_id,
            task_guid=request.form.get("task_guid"),
            filename=name,
            content_type=upload.mimetype or "application/octet-stream",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            sm3=sm3_hex(content),
            kind=(request.form.get("kind") or None),
            content=content,
            uploaded_by_id=user.id,
            uploaded_at=runtime().clock.now(),
        )
        session = get_session()
        session.add(attachment)
        session.commit()
        return attachment


@blp.route("/<int:attachment_id>")
class Download(MethodView):
    @blp.response(200)
    def get(self, attachment_id: int):
        """Download a file (uploader, or anyone who may see its instance)."""
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
    if isinstance(value, dict):
        ident = value.get("id")
        if (
            value.get("filename")
            and value.get("sha256")
            and isinstance(ident, int | str)
            and not isinstance(ident, bool)
            and str(ident).isdigit()
        ):
            kind = value.get("kind")
            yield int(ident), kind if isinstance(kind, str) and kind else None
        for child in value.values():
            yield from uploaded_files(child)
    elif isinstance(value, list):
        for child in value:
            yield from uploaded_files(child)


def readable_ids(user: User, ids: Iterable[int]) -> set[int]:
    """Return which of these attachments `user` may download (the download route's rule)."""
    wanted = {i for i in ids if 0 < i <= MAX_ROW_ID}
    if not wanted:
        return set()
    rows = get_session().scalars(select(Attachment).where(Attachment.id.in_(wanted)))
    return {a.id for a in rows if _may_read(user, a)}


def _may_read(user: User, attachment: Attachment) -> bool:
    if attachment.uploaded_by_id == user.id or queries.sees_everything(user):
        return True
    if attachment.instance_id is None:
        return False
    session = get_session()
    instance = session.get(ProcessInstance, attachment.instance_id)
    return instance is not None and queries.can_see_instance(session, user, instance)
