"""Process admin pages: models and versions, the modeler, version diff, form editor, lane ↔ role mapping."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from processes import catalog, migration
from processes.errors import BundleInvalid, FormInvalid, NotFound
from processes.forms import json_syntax_problem, read_form
from processes.store.models import (
    ENDED,
    Deployment,
    InstanceStatus,
    LaneRole,
    ProcessInstance,
    ProcessVersion,
    Role,
    User,
)
from service import auth
from service.api.admin import form_catalog
from service.api.catalog import known_lanes
from service.db import get_session, runtime
from service.web import bpmn_diff, bundles, diagrams

bp = Blueprint("web_admin", __name__, url_prefix="/admin")
MAX_BUNDLE_FILES = 100


@bp.before_request
def _admins_only() -> None:
    """Every page here is for process admins."""
    auth.require_admin()


def _forms_dir() -> Path:
    return Path(current_app.config["FORMS_DIR"])


# ----------------------------------------------------------------------------- models and versions


@bp.route("/processes")
def processes() -> str:
    """List the process models with their newest version and how many instances run on each."""
    session = get_session()
    counts = dict(
        session.execute(
            select(ProcessInstance.process_id, func.count()).group_by(ProcessInstance.process_id)
        ).all()
    )
    running = dict(
        session.execute(
            select(ProcessInstance.process_id, func.count())
            .where(
                ProcessInstance.status.in_(
                    [InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR]
                )
            )
            .group_by(ProcessInstance.process_id)
        ).all()
    )
    return render_template(
        "admin/processes.html",
        section="processes",
        counts=counts,
        running=running,
        versions=catalog.list_processes(session),
    )


@bp.route("/processes/<process_id>")
def versions(process_id: str) -> str:
    """List the versions of one process with who deployed them and the instances pinned to each."""
    session = get_session()
    rows = list(
        session.execute(
            select(ProcessVersion, Deployment)
            .join(Deployment, Deployment.id == ProcessVersion.deployment_id)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
        )
    )
    if not rows:
        raise NotFound(f"流程 {process_id} 不存在")
    per_version = select(ProcessInstance.process_version_id, func.count()).where(
        ProcessInstance.process_id == process_id
    )
    counts = dict(session.execute(per_version.group_by(ProcessInstance.process_version_id)).all())
    unfinished = per_version.where(ProcessInstance.status.not_in(ENDED))
    running = dict(session.execute(unfinished.group_by(ProcessInstance.process_version_id)).all())
    newest = rows[0][0]
    users = select(User.username, User.display_name).where(User.username.in_({d.created_by for _, d in rows}))
    names = dict(session.execute(users).all())
    return render_template(
        "admin/versions.html",
        deployed_by={d.id: _deployed_by(d, names) for _, d in rows},
        section="processes",
        process_id=process_id,
        rows=rows,
        counts=counts,
        running=running,
        behind=sum(n for version_id, n in running.items() if version_id != newest.id),
        waiting_at=migration.open_steps(session, process_id, newest),
        newest=newest,
    )


def _deployed_by(deployment: Deployment, names: dict[str, str]) -> tuple[str, str]:
    """Who deployed and from where, in words: (a name or 命令行, 建模器 / 表单编辑器 / 接口 / the files)."""
    by = deployment.created_by
    who = "命令行" if by == "cli" else names.get(by or "", by)
    source = deployment.source or ""
    if source == "web:modeler":
        where = "建模器"
    elif source.startswith("web:form:"):
        where = f"表单编辑器（{source.removeprefix('web:form:')}）"
    elif source == "api":
        where = "接口"
    else:
        where = f"文件 {source}" if source else ""
    return who or "—", where


@bp.route("/processes/<process_id>/versions/<int:version>")
def version(process_id: str, version: int) -> str:
    """Show one version: its diagram and files."""
    session = get_session()
    pv = catalog.get_version(session, process_id, version)
    texts = catalog.version_files(session, pv)
    own = diagrams.processes_in(texts).get(process_id)
    current = request.args.get("file") or (own.file if own else next(iter(texts), ""))
    if current not in texts:
        raise NotFound(f"版本中没有文件 {current}")
    return render_template("admin/version.html", section="processes", pv=pv, files=pv.files, current=current)


@bp.route("/processes/<process_id>/versions/<int:version>/files/<name>")
def version_file(process_id: str, version: int, name: str) -> Response:
    """Return the text of one file of a version (BPMN/DMN XML or a form)."""
    session = get_session()
    text = catalog.version_file(session, catalog.get_version(session, process_id, version), name)
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    return Response(text, mimetype=mimetype)


# ----------------------------------------------------------------------------- modeler


@bp.route("/processes/<process_id>/versions/<int:version>/modeler")
def modeler(process_id: str, version: int) -> str:
    """The modeler on a file of a version; deploying makes new versions, the shown one stays as it is."""
    session = get_session()
    pv = catalog.get_version(session, process_id, version)
    texts = catalog.version_files(session, pv)
    own = diagrams.processes_in(texts).get(process_id)
    name = request.args.get("file") or (own.file if own else "")
    if not name.endswith(".bpmn") or name not in texts:
        raise NotFound(f"版本中没有流程图 {name}")
    return render_template(
        "admin/modeler.html",
        section="processes",
        pv=pv,
        newest=catalog.get_version(session, process_id),
        file_name=name,
        bpmn_files=[f.name for f in pv.files if f.name.endswith(".bpmn")],
        xml_url=url_for("web_admin.version_file", process_id=process_id, version=version, name=name),
    )


@bp.route("/processes/<process_id>/versions/<int:version>/dmn/<name>")
def dmn_editor(process_id: str, version: int, name: str) -> str:
    """The decision-table editor on a DMN file of a version; it validates and deploys as the modeler does."""
    session = get_session()
    pv = catalog.get_version(session, process_id, version)
    own = next((f for f in pv.files if f.name == name), None)
    if own is None or not name.endswith(".dmn"):
        raise NotFound(f"版本中没有决策表 {name}")
    users = bundles.versions_using(session, name)
    # A deploy replaces the newest table (bundles.complete_bundle); say so when this version's table is older.
    newest = max(users, key=lambda v: v.id, default=None)
    newest_sha = next((f.sha256 for f in newest.files if f.name == name), None) if newest else None
    return render_template(
        "admin/dmn_editor.html",
        section="processes",
        pv=pv,
        file_name=name,
        users=users,
        newer=newest if newest_sha not in (None, own.sha256) else None,
        xml_url=url_for("web_admin.version_file", process_id=process_id, version=version, name=name),
    )


@bp.route("/modeler/new")
def modeler_new() -> str:
    """The modeler on a blank diagram."""
    name = request.args.get("file", "").strip() or "new_process.bpmn"
    if not name.endswith(".bpmn"):
        name += ".bpmn"
    return render_template(
        "admin/modeler.html", section="processes", pv=None, file_name=name, bpmn_files=[], xml_url=""
    )


def _edited_bundle() -> dict[str, bytes]:
    body = request.get_json(silent=True)
    files = body.get("files") if isinstance(body, dict) else None
    if (
        not isinstance(files, dict)
        or not files
        or len(files) > MAX_BUNDLE_FILES
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        raise FormInvalid({"files": ["应为 {文件名: 文件内容} 形式的对象"]})
    edited = {name.rsplit("/", 1)[-1]: text.encode("utf-8") for name, text in files.items()}
    return bundles.complete_bundle(get_session(), edited, _forms_dir())


@bp.route("/modeler/validate", methods=["POST"])
def modeler_validate() -> Response:
    """Validate the edited diagram together with the other newest files and forms."""
    result = catalog.validate(_edited_bundle(), runtime().handlers, known_lanes())
    problems = [{"file": p.file, "element_id": p.element_id, "message": p.message} for p in result.problems]
    return jsonify({"ok": not problems, "problems": problems})


@bp.route("/modeler/deploy", methods=["POST"])
def modeler_deploy() -> tuple[Response, int]:
    """Deploy the edited diagram with the newest other files; changed processes and callers get versions."""
    return _deploy(_edited_bundle(), "web:modeler")


def _deploy(files: dict[str, bytes], source: str) -> tuple[Response, int]:
    user = auth.require_user()
    session = get_session()
    try:
        versions = catalog.deploy(
            session,
            files,
            runtime().handlers,
            now=runtime().clock.now(),
            user=user.username,
            source=source,
            lanes=known_lanes(),
        )
    except BundleInvalid:
        session.rollback()
        raise
    session.commit()
    # The island lists what it is given and shows `created` as a time: name the new versions and when.
    made = [v for v in versions if v.created] or versions
    stamp = runtime().clock.now().isoformat()
    return jsonify(
        {
            "versions": [
                {
                    "process_id": v.process_id,
                    "name": v.name,
                    "version": v.version,
                    "created": stamp if v.created else False,
                    "url": url_for("web_admin.versions", process_id=v.process_id),
                }
                for v in made
            ]
        }
    ), 201


# ----------------------------------------------------------------------------- diff


def _diff(process_id: str) -> tuple[ProcessVersion, ProcessVersion, list[bpmn_diff.ElementChange]]:
    session = get_session()
    newest = catalog.get_version(session, process_id)
    b = request.args.get("b", newest.version, type=int)
    a = request.args.get("a", max(b - 1, 1), type=int)
    old, new = catalog.get_version(session, process_id, a), catalog.get_version(session, process_id, b)
    changes = bpmn_diff.diff_files(catalog.version_files(session, old), catalog.version_files(session, new))
    return old, new, changes


@bp.route("/processes/<process_id>/diff")
def diff(process_id: str) -> str:
    """Compare two versions: a table of added, removed and changed elements and both diagrams coloured."""
    old, new, changes = _diff(process_id)
    all_versions = list(
        get_session().scalars(
            select(ProcessVersion.version)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
        )
    )
    own = diagrams.processes_in(catalog.version_files(get_session(), new)).get(process_id)
    bpmn_names = sorted({f.name for f in old.files + new.files if f.name.endswith(".bpmn")})
    # The diagram that changed opens first (a lifecycle's new version may differ only in a called stage).
    changed = [c.file for c in changes if c.file in bpmn_names and c.change != "moved"]
    fallback = own.file if own else (bpmn_names[0] if bpmn_names else "")
    current = request.args.get("file") or (changed[0] if changed else fallback)
    return render_template(
        "admin/diff.html",
        section="processes",
        process_id=process_id,
        old=old,
        new=new,
        changes=changes,
        all_versions=all_versions,
        bpmn_names=bpmn_names,
        current=current,
        old_files={f.name for f in old.files},
        new_files={f.name for f in new.files},
    )


@bp.route("/processes/<process_id>/diff.json")
def diff_json(process_id: str) -> Response:
    """Return the differences between two versions as JSON (?a=1&b=2)."""
    old, new, changes = _diff(process_id)
    return jsonify(
        {
            "process_id": process_id,
            "a": old.version,
            "b": new.version,
            "changes": [
                {
                    "file": c.file,
                    "element_id": c.element_id,
                    "type": c.tag,
                    "name": c.name,
                    "change": c.change,
                    "details": c.details,
                }
                for c in changes
            ],
        }
    )


@bp.route("/processes/<process_id>/diff/<side>/state.json")
def diff_state(process_id: str, side: str) -> Response:
    """Return the viewer colouring of the old or new side of a diff for one file."""
    if side not in ("old", "new"):
        raise NotFound("没有这一侧")
    _old, _new, changes = _diff(process_id)
    return jsonify(bpmn_diff.viewer_state(changes, request.args.get("file", ""), side))


# ----------------------------------------------------------------------------- forms


@bp.route("/forms")
def forms() -> str:
    """List the forms: in forms/, deployed with the newest versions, and drafts, with who uses them."""
    session = get_session()
    rows = [
        (f["name"], f["title"], bundles.versions_using(session, f["name"]), f["draft"])
        for f in form_catalog()
    ]
    deleted = request.args.get("deleted")
    return render_template("admin/forms.html", section="forms", rows=rows, deleted=deleted)


@bp.route("/forms/new")
def form_new() -> str:
    """Ask the file name and title of a new form; creating it opens the form editor on its draft."""
    return render_template(
        "admin/form_new.html", section="forms", suffix=bundles.FORM_SUFFIX, max_name=bundles.MAX_FORM_NAME
    )


@bp.route("/forms", methods=["POST"])
def form_create() -> tuple[Response, int]:
    """Create the draft of a new form ({name, title}) from a starter schema; answer its editor's address."""
    user = auth.require_user()
    body = request.get_json(silent=True)
    name, title = (_text_field(body, key) for key in ("name", "title"))
    session, now = get_session(), runtime().clock.now()
    try:
        draft = bundles.create_draft(session, name, title, _forms_dir(), user_id=user.id, now=now)
        session.commit()
    except IntegrityError as err:  # the same name, created a moment ago in another request
        session.rollback()
        raise FormInvalid({"name": ["已有同名的表单草稿，请换一个文件名"]}) from err
    url = url_for("web_admin.form_editor", name=draft.name)
    return jsonify({"name": draft.name, "title": draft.title, "url": url}), 201


def _text_field(body: object, key: str) -> str:
    """A JSON body's text field, trimmed; "" when it is missing or no text (the checks then ask for it)."""
    value = body.get(key) if isinstance(body, dict) else None
    return value.strip() if isinstance(value, str) else ""


@bp.route("/forms/<name>", methods=["GET"])
def form_editor(name: str) -> str:
    """Edit a form's JSON Schema with a live preview rendered by the form island."""
    session = get_session()
    text, source = bundles.form_source(session, name, _forms_dir())
    users = bundles.versions_using(session, name)
    return render_template(
        "admin/form_editor.html",
        section="forms",
        name=name,
        text=text,
        source=source,
        users=users,
        draft=None if users else bundles.find_draft(session, name),
        created=request.args.get("created") == "1",
    )


@bp.route("/forms/<name>", methods=["POST"])
def form_save(name: str) -> tuple[Response, int]:
    """Save a form: deploy it with the processes that use it, or store its draft while no process does."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise FormInvalid({"text": ["缺少表单内容"]})
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormInvalid({"text": [f"不是合法的 JSON：{json_syntax_problem(err)}"]}) from err
    if not isinstance(parsed, dict):
        raise FormInvalid({"text": ["表单必须是 JSON 对象"]})
    session = get_session()
    draft = bundles.find_draft(session, name)
    if draft is not None and not bundles.versions_using(session, name):
        bundles.save_draft(draft, text, runtime().clock.now())
        session.commit()
        return jsonify({"name": name, "draft": True, "message": bundles.DRAFT_SAVED}), 200
    return _deploy(bundles.bundle_with_form(session, name, text), f"web:form:{name}")


@bp.route("/forms/<name>", methods=["DELETE"])
def form_delete(name: str) -> tuple[str, int]:
    """Delete a form's draft; a deployed form lives in its versions and is not deleted here."""
    session = get_session()
    draft = bundles.find_draft(session, name)
    if draft is None:
        raise NotFound(f"没有表单草稿 {name}")
    session.delete(draft)
    session.commit()
    return "", 204


@bp.route("/forms/check", methods=["POST"])
def form_check() -> Response:
    """Say whether a form's text is a usable form, as saving would judge it: {ok, problem}."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    _schema, problem = read_form(text if isinstance(text, str) else "")
    return jsonify({"ok": problem is None, "problem": problem})


@bp.route("/forms/preview/submit", methods=["POST"])
def form_preview_submit() -> Response:
    """Accept a preview submission: the preview only exercises the form's own checks."""
    return jsonify({})


# ----------------------------------------------------------------------------- lanes


@bp.route("/lanes")
def lanes() -> str:
    """The lane → role mapping, with the lanes the newest diagrams use that have no role yet."""
    session = get_session()
    mapping = list(session.scalars(select(LaneRole).order_by(LaneRole.lane)))
    used = diagrams.lane_names(bundles.newest_files(session))
    roles = list(session.scalars(select(Role).order_by(Role.code)))
    saved = next((m for m in mapping if m.lane == request.args.get("saved")), None)
    return render_template(
        "admin/lanes.html",
        section="lanes",
        mapping=mapping,
        saved=saved,
        role_names={r.code: r.name for r in roles},
        roles=roles,
        unmapped=sorted(used - known_lanes()),
        used=used,
    )
