"""Complete a bundle edited in the browser with the rest of the newest deployed files, so it deploys alone."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import catalog
from processes.errors import NotFound
from processes.store.models import ProcessVersion, VersionFile


def newest_files(session: Session) -> dict[str, str]:
    """Return every file of the newest version of every process; a file in several takes the newest text."""
    files: dict[str, str] = {}
    for version in sorted(catalog.list_processes(session), key=lambda v: v.id):
        files.update(catalog.version_files(session, version))
    return files


def complete_bundle(session: Session, edited: Mapping[str, bytes], forms_dir: Path) -> dict[str, bytes]:
    """Return `edited` plus the newest deployed diagrams, tables and forms, plus forms only found in forms/.

    Deploying the result gives a new version to each process whose files changed, including the
    processes that call an edited one; the others are unchanged and stay as they are.
    """
    files = {name: text.encode("utf-8") for name, text in newest_files(session).items()}
    files.update(edited)
    return catalog.add_named_forms(files, [forms_dir])


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
    """Return (text, where from) of a form: the newest deployed text, else the file in forms/."""
    users = versions_using(session, name)
    if users:
        newest = max(users, key=lambda v: v.id)
        return catalog.version_file(session, newest, name), f"{newest.name} 第 {newest.version} 版"
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
