"""`egovflow seed` on a fresh database: accounts, experts and demo projects at several stages, once."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from service.cli import main


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
