"""The project register (项目库): filtered list, Excel export, one project, its documents and downloads."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from handlers.documents import kind_label
from handlers.localtime import format_local
from handlers.models import PROJECT_STATUS_LABELS, PROJECT_TYPES, Document, Project
from processes import reports
from processes.errors import NotFound
from processes.runtime import load_instance_for_read
from processes.store.models import Attachment, InstanceEvent, ProcessInstance, User
from service import auth
from service.api.attachments import uploaded_files
from service.api.instances import visible_instance
from service.api.schemas import (
    PLAN_YEARS,
    InstanceSchema,
    PageSchema,
    RangeArgs,
    WholeNumber,
    sort_order_field,
)
from service.db import get_session, runtime
from service.spreadsheet import money_columns, new_sheet, workbook_bytes

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="项目库与文档")


class ProjectArgs(RangeArgs):
    ranges = (("amount_min", "amount_max"),)

    year = WholeNumber(validate=PLAN_YEARS, metadata={"title": "计划年度"})
    unit = ma.fields.Str(validate=ma.validate.Length(max=18), metadata={"title": "建设单位"})
    stage = ma.fields.Str(validate=ma.validate.Length(max=10), metadata={"title": "阶段"})
    status = ma.fields.Str(
        validate=ma.validate.OneOf(list(PROJECT_STATUS_LABELS)), metadata={"title": "项目状态"}
    )
    amount_min = ma.fields.Float(validate=ma.validate.Range(min=0), metadata={"title": "概算不低于"})
    amount_max = ma.fields.Float(validate=ma.validate.Range(min=0), metadata={"title": "概算不高于"})
    q = ma.fields.Str(validate=ma.validate.Length(max=100), metadata={"title": "关键词"})
    sort = ma.fields.Str(
        load_default="project_id",
        validate=ma.validate.OneOf([*reports.PROJECT_SORTS, *reports.PROJECT_SORT_ALIASES]),
        metadata={
            "title": "排序",
            "description": "-project_id、-amount 为旧写法，分别等同 project_id 降序、amount 升序",
        },
    )
    order = sort_order_field("项目编号、项目名称升序，总投资概算、计划年度、最近更新降序")


class ProjectSchema(ma.Schema):
    project_id = ma.fields.Str()
    name = ma.fields.Str()
    plan_year = ma.fields.Int()
    unit_code = ma.fields.Str()
    unit_name = ma.fields.Str()
    project_type = ma.fields.Str()
    project_type_name = ma.fields.Function(lambda p: PROJECT_TYPES.get(p.project_type, p.project_type))
    planned = ma.fields.Bool()
    total_estimate = ma.fields.Decimal(as_string=True)
    recommended_budget = ma.fields.Decimal(as_string=True, allow_none=True)
    approved_budget = ma.fields.Decimal(as_string=True, allow_none=True)
    approval_doc_no = ma.fields.Str(allow_none=True)
    stage = ma.fields.Str()
    status = ma.fields.Str()
    status_name = ma.fields.Function(lambda p: PROJECT_STATUS_LABELS.get(p.status, p.status))
    instance_id = ma.fields.Int(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProjectPage(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ProjectSchema))
    total_estimate = ma.fields.Decimal(as_string=True)
    approved_budget = ma.fields.Decimal(as_string=True, metadata={"description": "批复金额合计（元）"})


class DocumentSchema(ma.Schema):
    id = ma.fields.Int()
    source = ma.fields.Str()  # "document" (generated or stored by the platform) or "attachment" (uploaded)
    kind = ma.fields.Str(allow_none=True)
    kind_name = ma.fields.Str(allow_none=True)
    filename = ma.fields.Str()
    size = ma.fields.Int()
    sha256 = ma.fields.Str()
    sm3 = ma.fields.Str()
    created_at = ma.fields.DateTime()
    url = ma.fields.Str()


class ProjectDetail(ProjectSchema):
    declaration = ma.fields.Dict()
    instances = ma.fields.List(ma.fields.Nested(InstanceSchema))
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema))


def project_filter(args: dict) -> reports.ProjectFilter:
    """Build the register filter from parsed query arguments."""
    return reports.ProjectFilter(
        year=args.get("year"),
        unit=args.get("unit"),
        stage=args.get("stage"),
        status=args.get("status"),
        amount_min=args.get("amount_min"),
        amount_max=args.get("amount_max"),
        q=args.get("q"),
    )


def visible_project(project_id: str) -> Project:
    """Return a register row the caller may see, or raise 404."""
    user = auth.require_user()
    found = reports.project_by_id(get_session(), user, project_id)
    if found is None:
        raise NotFound(f"项目 {project_id} 不存在")
    return found


def _document_row(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "source": "document",
        "kind": doc.kind,
        "kind_name": kind_label(doc.kind),
        "filename": doc.filename,
        "size": doc.size,
        "sha256": doc.sha256,
        "sm3": doc.sm3,
        "created_at": doc.created_at,
        "url": f"/api/v1/documents/{doc.id}",
    }


def _attachment_row(att: Attachment, kinds: list[str]) -> dict[str, Any]:
    chosen = kinds or ([att.kind] if att.kind else [])
    return {
        "id": att.id,
        "source": "attachment",
        "kind": chosen[0] if chosen else None,
        "kind_name": "、".join(dict.fromkeys(kind_label(k) for k in chosen)) or None,
        "filename": att.filename,
        "size": att.size,
        "sha256": att.sha256,
        "sm3": att.sm3,
        "created_at": att.uploaded_at,
        "url": f"/api/v1/attachments/{att.id}",
    }


def attachment_ids_in(value: Any) -> Iterator[int]:
    """Yield the ids of uploaded files referenced in form data ({id, filename, sha256, …} objects)."""
    for ident, _kind in uploaded_files(value):
        yield ident


def _uploads(instance: ProcessInstance, found: dict[int, Attachment], kinds: dict[int, list[str]]) -> None:
    """Add an instance's submitted uploads to `found`, and to `kinds` the 材料类型 its data gives each one.

    An upload counts once a submission referenced it: in the instance's data now, or in what a completed task
    submitted (last year's 运维方案 as well as this year's). A file uploaded, never submitted, is no document.
    """
    session = get_session()
    for ident, kind in uploaded_files(instance.data_json or {}):
        chosen = kinds.setdefault(ident, [])
        if kind and kind not in chosen:
            chosen.append(kind)
    submitted = set(kinds)
    for detail in session.scalars(
        select(InstanceEvent.detail).where(
            InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "task_completed"
        )
    ):
        changes = (detail or {}).get("changes") or {}
        submitted |= {ident for change in changes.values() for ident, _kind in uploaded_files(change)}
    if submitted:
        for att in session.scalars(select(Attachment).where(Attachment.id.in_(sorted(submitted)))):
            found.setdefault(att.id, att)


def _file_rows(found: dict[int, Attachment], kinds: dict[int, list[str]]) -> list[dict[str, Any]]:
    """Return one row per file: uploads of the same name and content (uploaded again) are one file.

    The row is the earliest upload the data references (else the earliest upload), with the 材料类型 every
    reference chose (the uploader's choice lives in the form data, not on the upload).
    """
    groups: dict[tuple[str, str], list[Attachment]] = {}
    for att in sorted(found.values(), key=lambda a: (a.id not in kinds, a.id)):
        groups.setdefault((att.filename, att.sha256), []).append(att)
    rows = []
    for same in groups.values():
        chosen = [k for att in same for k in kinds.get(att.id, [])]
        rows.append(_attachment_row(same[0], list(dict.fromkeys(chosen))))
    return rows


def _newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)


def instance_documents(instance: ProcessInstance) -> list[dict[str, Any]]:
    """Return the uploads and generated documents of an instance (and of its project), newest first."""
    session = get_session()
    found: dict[int, Attachment] = {}
    kinds: dict[int, list[str]] = {}
    _uploads(instance, found, kinds)
    documents = [_document_row(d) for d in reports.documents_of(session, instance.project_id, [instance.id])]
    return _newest_first(documents + _file_rows(found, kinds))


def project_documents(project: Project) -> list[dict[str, Any]]:
    """Return the documents of a project and the uploads of its instances the caller may see."""
    session = get_session()
    user = auth.require_user()
    instances = reports.project_instances(session, user, project.project_id)
    documents = reports.documents_of(session, project.project_id, [i.id for i in instances])
    found: dict[int, Attachment] = {}
    kinds: dict[int, list[str]] = {}
    for instance in instances:
        _uploads(_with_data(instance), found, kinds)
    return _newest_first([_document_row(d) for d in documents] + _file_rows(found, kinds))


def _with_data(instance: ProcessInstance) -> ProcessInstance:
    return load_instance_for_read(get_session(), instance.id)


def register_workbook(rows: list[Project], title: str = "项目库") -> bytes:
    """Return the register rows as an .xlsx file (amounts in 元 as numbers with two decimals)."""
    columns = [
        ("项目编号", 16),
        ("项目名称", 40),
        ("计划年度", 10),
        ("建设单位", 28),
        ("统一社会信用代码", 22),
        ("项目类型", 14),
        ("是否计划内", 10),
        ("总投资概算(元)", 18),
        ("专家建议金额(元)", 18),
        ("批复金额(元)", 18),
        ("批复文号", 22),
        ("阶段", 8),
        ("状态", 14),
        ("更新时间", 18),
    ]
    wb, ws = new_sheet(title, columns)
    for p in rows:
        ws.append(
            [
                p.project_id,
                p.name,
                p.plan_year,
                p.unit_name,
                p.unit_code,
                PROJECT_TYPES.get(p.project_type, p.project_type),
                "是" if p.planned else "否",
                _number(p.total_estimate),
                _number(p.recommended_budget),
                _number(p.approved_budget),
                p.approval_doc_no or "",
                p.stage,
                PROJECT_STATUS_LABELS.get(p.status, p.status),
                format_local(p.updated_at) if p.updated_at else "",
            ]
        )
        money_columns(ws, (8, 9, 10))
    return workbook_bytes(wb, ws, len(columns))


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def xlsx_response(content: bytes, filename: str) -> Response:
    """Return a spreadsheet download."""
    return Response(
        content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def export_register(args: dict) -> Response:
    """Build the register export the caller may see (shared by the API and the register page)."""
    user: User = auth.require_user()
    sort, order = args.get("sort", "project_id"), args.get("order")
    rows = reports.projects_for_export(get_session(), user, project_filter(args), sort, order)
    stamp = format_local(runtime().clock.now(), "%Y%m%d")
    return xlsx_response(register_workbook(rows), f"项目库_{stamp}.xlsx")


@blp.route("/projects")
class Projects(MethodView):
    @blp.arguments(ProjectArgs(), location="query")
    @blp.response(200, ProjectPage)
    def get(self, args: dict):
        """List the register rows the caller may see (own unit, or projects of instances they see)."""
        user = auth.require_user()
        session = get_session()
        f = project_filter(args)
        page = reports.projects(
            session, user, f, args["sort"], args["page"], args["page_size"], order=args.get("order")
        )
        totals = reports.project_totals(session, user, f)
        return {
            "items": page.items,
            "total": page.total,
            "page": page.page,
            "page_size": page.page_size,
            "total_estimate": totals.total_estimate,
            "approved_budget": totals.approved_budget,
        }


@blp.route("/projects/export")
class ProjectExport(MethodView):
    @blp.arguments(ProjectArgs(), location="query")
    @blp.response(200, description="Excel 文件 (.xlsx)")
    def get(self, args: dict):
        """Download the filtered register as an Excel workbook (at most 10000 rows)."""
        return export_register(args)


@blp.route("/projects/<project_id>")
class ProjectOne(MethodView):
    @blp.response(200, ProjectDetail)
    def get(self, project_id: str):
        """Show one project: register fields, its instances and documents."""
        project = visible_project(project_id)
        project.instances = reports.project_instances(get_session(), auth.require_user(), project_id)
        project.documents = project_documents(project)
        return project


@blp.route("/projects/<project_id>/documents")
class ProjectDocuments(MethodView):
    @blp.response(200, DocumentSchema(many=True))
    def get(self, project_id: str):
        """List a project's documents: generated ones (批复 …) and uploads of its instances."""
        return project_documents(visible_project(project_id))


@blp.route("/instances/<int:instance_id>/documents")
class InstanceDocuments(MethodView):
    @blp.response(200, DocumentSchema(many=True))
    def get(self, instance_id: int):
        """List an instance's uploads and its project's generated documents."""
        return instance_documents(visible_instance(instance_id))


@blp.route("/documents/<int:document_id>")
class DocumentDownload(MethodView):
    @blp.response(200, description="文件内容")
    def get(self, document_id: int):
        """Download a generated or stored document (anyone who may see an instance of its project)."""
        user = auth.require_user()
        session = get_session()
        doc = session.get(Document, document_id)
        if doc is None or not reports.may_see_project_instance(
            session, user, doc.project_id, doc.instance_id
        ):
            raise NotFound(f"文档 {document_id} 不存在")
        return Response(
            doc.content,
            mimetype=doc.media_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}",
                "X-Content-SHA256": doc.sha256,
                "X-Content-SM3": doc.sm3,
            },
        )
