"""Every time a user sees is 六安 local time (UTC+8): pages, Excel export, messages, history, form island."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import create_engine, select, text

from handlers.models import Project
from processes.scheduler import tick
from processes.store.models import ProcessInstance
from service.cli import main
from tests.api.test_pages import JYJ, add_project, open_task, page, start, submit
from tests.api.test_runtime_api import complete, my_tasks
from tests.api.test_runtime_api import start as start_instance
from tests.conftest import ApiClient, deploy, make_app
from tests.workflows import bundle, timed, two_lanes

ROOT = Path(__file__).resolve().parents[2]
BEIJING = timezone(timedelta(hours=8))
# The instant of the UX review: 04:18:28 UTC is 12:18:28 in 六安.
INSTANT = datetime(2026, 11, 26, 4, 18, 28, tzinfo=UTC)


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    client = login("admin")
    assert deploy(client, bundle(two_lanes())).status_code == 201
    return client


def _set_updated(app, project_id: str, when: datetime) -> None:  # noqa: ANN001
    with app.extensions["egovflow"].sessions() as session:
        session.scalars(select(Project).where(Project.project_id == project_id)).one().updated_at = when
        session.commit()


def test_register_rows_are_stored_utc_whatever_the_clocks_offset(app, admin, login) -> None:  # noqa: ANN001
    """A handler writing the clock's +08:00 value (as the demo seed does) stores the same UTC instant."""
    with app.extensions["egovflow"].sessions() as session:
        add_project(session, "LA-2026-0001", *JYJ, 2026, "100.00", "申报", "DECLARED")
        add_project(session, "LA-2026-0002", *JYJ, 2026, "200.00", "申报", "DECLARED")
        session.commit()
    _set_updated(app, "LA-2026-0001", INSTANT)
    _set_updated(app, "LA-2026-0002", INSTANT.astimezone(BEIJING))
    with app.extensions["egovflow"].sessions() as session:
        rows = session.scalars(select(Project).order_by(Project.project_id)).all()
        assert [p.updated_at for p in rows] == [INSTANT, INSTANT]
        assert all(p.updated_at.utcoffset() == timedelta(0) for p in rows)
        stored = (
            session.execute(text("SELECT updated_at FROM dom_project ORDER BY project_id")).scalars().all()
        )
    assert stored[0] == stored[1]  # one UTC value, not the Beijing wall time of the second write
    manager = login("manager")
    html = page(manager, "/projects")
    assert html.count("2026-11-26 12:18") == 2 and "2026-11-26 04:18" not in html
    assert "2026-11-26 20:18" not in html
    assert "<dd>2026-11-26 12:18</dd>" in page(manager, "/projects/LA-2026-0002")


def test_excel_export_shows_beijing_time_and_is_named_by_the_beijing_date(app, admin, login, clock) -> None:  # noqa: ANN001
    with app.extensions["egovflow"].sessions() as session:
        add_project(session, "LA-2026-0001", *JYJ, 2026, "100.00", "申报", "DECLARED")
        session.commit()
    _set_updated(app, "LA-2026-0001", INSTANT)
    clock.set(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))  # already 27 November in 六安
    manager = login("manager")
    assert "2026-11-26 12:18" in page(manager, "/projects")
    response = manager.get("/api/v1/projects/export")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][13] == "更新时间" and rows[1][13] == "2026-11-26 12:18"
    assert "20261127.xlsx" in response.headers["Content-Disposition"]


def test_task_page_draft_time_and_conflict_message_are_beijing_time(admin, login, clock) -> None:  # noqa: ANN001
    """到达时间 on the page, the draft's 已保存 time in the form island, and the 409 message agree."""
    clock.set(INSTANT - timedelta(minutes=1))
    operator = login("jyj_jb")
    task = open_task(operator, start(operator))
    assert "<dd>2026-11-26 12:17</dd>" in page(operator, f"/tasks/{task['id']}")
    clock.set(INSTANT)
    saved = operator.post(f"/api/v1/tasks/{task['id']}/draft", json={"data": {"amount": 5}})
    assert saved.status_code == 200
    assert _island_time(saved.get_json()["saved_at"]) == "2026-11-26 12:18:28"
    assert submit(operator, task["id"], {"decision": "APPROVE", "amount": 10}).status_code == 200
    again = submit(operator, task["id"], {"decision": "APPROVE", "amount": 10})
    assert again.status_code == 409 and "于 2026-11-26 12:18 办理完成" in again.get_json()["message"]


def _island_time(saved_at: str) -> str:
    """Format `saved_at` with the form island's own code in a browser whose time zone is UTC."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        "import { formatDateTime } from './frontend/lib/dom.js';"
        f"process.stdout.write(formatDateTime({json.dumps(saved_at)}));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_history_shows_the_timer_due_time_in_beijing_time(app, login, clock) -> None:  # noqa: ANN001
    admin, operator = login("admin"), login("jyj_jb")
    deploy(admin, bundle(timed()))
    clock.set(INSTANT)
    instance = start_instance(operator, "timed")
    complete(operator, my_tasks(operator)[0]["id"])  # now waits one month
    clock.advance(timedelta(days=40))
    state = app.extensions["egovflow"]
    assert tick(state.sessions, state.runtime) == 1
    html = page(admin, f"/instances/{instance['id']}")
    assert "到期时间 2026-12-26 12:18" in html and "到期时间 2026-12-26 04:18" not in html


def test_demo_projects_show_the_same_times_on_the_register_and_the_instances(
    db_url: str, monkeypatch
) -> None:  # noqa: ANN001
    """`egovflow seed` runs with a +08:00 manual clock: register rows and instances must agree."""
    monkeypatch.setenv("EGOVFLOW_DATABASE_URL", db_url)
    runner = CliRunner()
    for args in (["db", "upgrade"], ["deploy", "bpmn"], ["seed"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.created_at, i.started_at, p.updated_at, i.updated_at FROM dom_project p"
                " JOIN process_instance i ON i.id = p.instance_id WHERE p.project_id = 'LA-2026-0001'"
            )
        ).one()
    engine.dispose()
    assert rows[0] == rows[1] and rows[2] == rows[3]  # stored alike: the same UTC instants
    app = make_app(db_url)
    try:
        manager = ApiClient(app, "manager")
        project = page(manager, "/projects/LA-2026-0001")
        assert (
            "<dt>登记时间</dt><dd>2026-02-02 09:00</dd>" in project
        )  # the demo clock starts at 09:00 in 六安
        with app.extensions["egovflow"].sessions() as session:
            instance_id = session.scalar(
                select(ProcessInstance.id)
                .join(Project, Project.instance_id == ProcessInstance.id)
                .where(Project.project_id == "LA-2026-0001")
            )
        shown = page(manager, f"/instances/{instance_id}")
        assert "<dt>发起时间</dt><dd>2026-02-02 09:00</dd>" in shown
        register = page(manager, "/projects")
        updated = register.split("LA-2026-0001", 1)[1].split("</tr>", 1)[0]
        assert "2026-11-02 10:00" in updated and "2026-11-02 10:00" in page(manager, "/instances")
    finally:
        app.extensions["egovflow"].engine.dispose()
