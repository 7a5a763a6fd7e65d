"""What a browser edit deploys with: the newest deployed files, the form drafts and forms/."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import catalog
from processes.errors import FormInvalid, NotFound
from processes.forms import read_form
from processes.store.models import FormDraft, ProcessVersion, VersionFile

FORM_SUFFIX = ".schema.json"
# Letters, digits, _ - . only: the name is a file name in bundles, forms/ and URLs alike.
FORM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_FORM_NAME, MAX_TITLE = 100, 100
DRAFT_SAVED = "草稿已保存。在流程图的用户任务中选择此表单并部署后生效"


def newest_files(session: Session) -> dict[str, str]:
    """Return every file of the newest version of every process; a file in several takes the newest text."""
    files: dict[str, str] = {}
    for version in sorted(catalog.list_processes(session), key=lambda v: v.id):
        files.update(catalog.version_files(session, version))
    return files


def complete_bundle(session: Session, edited: Mapping[str, bytes], forms_dir: Path) -> dict[str, bytes]:
    """Return `edited`, the newest deployed files and the named forms only a draft (first) or forms/ has.

    Deploying the result gives a new version to each process whose files changed, including the
    processes that call an edited one; the others are unchanged and stay as they are. The deploy removes
    the drafts it stored (catalog.deploy).
    """
    files = {name: text.encode("utf-8") for name, text in newest_files(session).items()}
    files.update(edited)
    return catalog.add_named_forms(files, [forms_dir], catalog.form_drafts(session))


def versions_using(session: Session, file_name: str) -> list[ProcessVersion]:
    """Return the newest versions whose files include `file_name`."""
    newest = {v.id for v in catalog.list_processes(session)}
    found = session.scalars(
        select(ProcessVersion)
        .join(VersionFile, VersionFile.version_id == ProcessVersion.id)
        .where(VersionFile.name == file_name)
        .order_by(ProcessVersion.process_id)
    )
    return [v for v in found if v.id in newest]


def form_source(session: Session, name: str, forms_dir: Path) -> tuple[str, str]:
    """Return (text, where from) of a form: the newest deployed text, else its draft, else forms/'s file."""
    users = versions_using(session, name)
    if users:
        newest = max(users, key=lambda v: v.id)
        return catalog.version_file(session, newest, name), f"{newest.name} 第 {newest.version} 版"
    draft = find_draft(session, name)
    if draft is not None:
        return draft.text, "草稿（未部署）"
    path = forms_dir / name
    if "/" not in name and "\\" not in name and path.is_file():
        return path.read_text(encoding="utf-8"), "forms/ 目录（尚未部署）"
    raise NotFound(f"表单 {name} 不存在")


def bundle_with_form(session: Session, name: str, text: str) -> dict[str, bytes]:
    """Return the newest deployed files with one form replaced; deploying them versions its users."""
    if not versions_using(session, name):
        raise NotFound(f"没有流程使用表单 {name}：表单随流程一起部署，请先在流程图中引用它")
    files = {n: t.encode("utf-8") for n, t in newest_files(session).items()}
    files[name] = text.encode("utf-8")
    return files


# ----------------------------------------------------------------------------- drafts


def find_draft(session: Session, name: str) -> FormDraft | None:
    """Return the draft of a form by file name, or None."""
    return session.scalar(select(FormDraft).where(FormDraft.name == name))


def starter_form(title: str) -> str:
    """Return the text a new form starts from: its title and one required text field to copy or replace."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["remark"],
        "properties": {
            "remark": {
                "type": "string",
                "title": "说明",
                "description": "示例字段：可修改标题，或替换为本步骤需要填写的字段",
                "minLength": 1,
                "maxLength": 1000,
            }
        },
    }
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def create_draft(
    session: Session, name: str, title: str, forms_dir: Path, *, user_id: int | None, now: datetime
) -> FormDraft:
    """Add a draft of a new form from the starter text; a bad or taken name or title is a FormInvalid."""
    errors = {}
    if problem := _name_problem(session, name, forms_dir):
        errors["name"] = [problem]
    if not title:
        errors["title"] = ["请填写表单标题"]
    elif len(title) > MAX_TITLE:
        errors["title"] = [f"表单标题最多 {MAX_TITLE} 个字符"]
    if errors:
        raise FormInvalid(errors)
    draft = FormDraft(name=name, title=title, text=starter_form(title), created_by_id=user_id)
    draft.created_at = draft.updated_at = now
    session.add(draft)
    session.flush()
    return draft


def _name_problem(session: Session, name: str, forms_dir: Path) -> str | None:
    """Why `name` cannot be a new form's file name, in Chinese, or None."""
    if not name:
        return "请填写文件名"
    if not name.endswith(FORM_SUFFIX) or name == FORM_SUFFIX:
        return f"文件名须以 {FORM_SUFFIX} 结尾，如 supplement_fsr{FORM_SUFFIX}"
    if not FORM_NAME.fullmatch(name):
        return "文件名只能包含英文字母、数字、下划线（_）、连字符（-）和点（.），并以字母或数字开头"
    if len(name) > MAX_FORM_NAME:
        return f"文件名最多 {MAX_FORM_NAME} 个字符"
    # Case apart is still the same name to a person, and to some file systems.
    folded = name.lower()
    deployed = select(VersionFile.name).where(func.lower(VersionFile.name) == folded).limit(1)
    if session.scalar(deployed) is not None:
        return "已有同名的已部署表单，请换一个文件名"
    if any(p.name.lower() == folded for p in forms_dir.glob("*.json")):
        return "forms/ 目录中已有同名表单，请换一个文件名"
    if session.scalar(select(FormDraft.name).where(func.lower(FormDraft.name) == folded)) is not None:
        return "已有同名的表单草稿，请换一个文件名"
    return None


def save_draft(draft: FormDraft, text: str, now: datetime) -> None:
    """Store a draft's new text when it is a usable form; its title follows the form's own."""
    if len(text.encode("utf-8")) > catalog.MAX_FILE_BYTES:
        raise FormInvalid({"text": [f"表单过大（超过 {catalog.MAX_FILE_BYTES // 1024} KB）"]})
    schema, problem = read_form(text)
    if problem:
        raise FormInvalid({"text": [problem]})
    title = schema.get("title")
    if isinstance(title, str) and title.strip():
        draft.title = title.strip()[:MAX_TITLE]
    draft.text = text
    draft.updated_at = now
