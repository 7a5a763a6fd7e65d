"""`egovflow seed` on a fresh database: accounts, experts and demo projects at several stages, once."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from handlers.doc_store import sm3_hex
from processes.store.models import Attachment, HumanTask, ProcessInstance, TaskStatus
from service.cli import main
from tests.conftest import ApiClient, make_app


def test_seed_creates_projects_at_several_stages_and_is_idempotent(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("EGOVFLOW_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    deployed = runner.invoke(main, ["deploy", "bpmn"])
    assert deployed.exit_code == 0, deployed.output
    first = runner.invoke(main, ["seed"])
    assert first.exit_code == 0, first.output
    assert "演示项目已就绪" in first.output
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stages = dict(
            conn.execute(
                text("SELECT title, stage FROM process_instance WHERE process_id = 'lifecycle'")
            ).all()
        )
        experts = conn.execute(text("SELECT count(*) FROM dom_expert")).scalar()
    assert stages["六安市智慧教育云平台二期"] == "运维"
    assert stages["六安市智慧城管综合指挥平台升级"] == "建设"
    assert stages["六安市全民健康信息平台升级改造"] == "立项"
    assert stages["六安市公共安全视频图像共享平台扩容"] == "初审"
    assert stages["六安市就业创业一体化服务平台"] == "申报"
    assert experts >= 30
    again = runner.invoke(main, ["seed"])
    assert again.exit_code == 0 and "演示项目" not in again.output
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM process_instance WHERE process_id = 'lifecycle'")
            ).scalar()
            == 6
        )
    engine.dispose()


def test_seeded_documents_are_stored_and_the_expert_downloads_them(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    """The demo's form data references uploads: each is a stored row the expert scoring it can download."""
    monkeypatch.setenv("EGOVFLOW_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["deploy", "bpmn"]).exit_code == 0
    seeded = runner.invoke(main, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    app = make_app(db_url)
    with app.extensions["egovflow"].sessions() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.project_id == "LA-2026-0003"))
        assert instance is not None and instance.title == "六安市全民健康信息平台升级改造"
        task = session.scalar(
            select(HumanTask)
            .where(
                HumanTask.instance_id == instance.id,
                HumanTask.name == "专家评审打分",
                HumanTask.status == TaskStatus.READY,
            )
            .order_by(HumanTask.id)
        )
        assert task is not None and task.assignee is not None
        task_id, expert_name = task.id, task.assignee.username
        refs = {r["filename"]: r for r in _refs(task.context_json)}
        # Every upload the seeded projects' data references is a row of the attachment table.
        ids = {int(r["id"]) for i in session.scalars(select(ProcessInstance)) for r in _refs(i.data_json)}
        stored = set(session.scalars(select(Attachment.id)))
    assert {"项目意见书.pdf", "实施方案.pdf", "投资概算明细.xlsx"} <= set(refs)
    assert ids and ids <= stored
    expert = ApiClient(app, expert_name)
    page = expert.get(f"/tasks/{task_id}").get_data(as_text=True)
    for name, ref in refs.items():
        assert f'<a href="/api/v1/attachments/{ref["id"]}" download>{name}</a>' in page
        download = expert.get(f"/api/v1/attachments/{ref['id']}")
        assert download.status_code == 200, name
        assert (
            hashlib.sha256(download.data).hexdigest() == ref["sha256"] == download.headers["X-Content-SHA256"]
        )
        assert download.headers["X-Content-SM3"] == sm3_hex(download.data)
    assert expert.get(f"/api/v1/attachments/{refs['项目意见书.pdf']['id']}").data.startswith(b"%PDF-1.4")
    # The instance page lists the project's documents for those who may see it.
    health = ApiClient(app, "wjw_jb").get(f"/instances/{instance.id}").get_data(as_text=True)
    assert "暂无文档" not in health and "项目意见书.pdf" in health
    app.extensions["egovflow"].engine.dispose()


def _refs(value: object) -> list[dict]:
    """The upload references ({id, filename, sha256, …}) anywhere in form data."""
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if not isinstance(value, dict):
        return []
    own = [value] if value.get("filename") and value.get("sha256") and value.get("id") else []
    return own + [r for v in value.values() for r in _refs(v)]
