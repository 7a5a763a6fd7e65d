"""The `egovflow` command: database, deploy, validate, seed, worker, scenarios."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.orm import Session

from handlers import REGISTRY
from processes import catalog
from processes.errors import BundleInvalid
from processes.seed import DEFAULT_LANES, DEMO_PASSWORD, STAFF, SYSTEM_LANE, UNIT_ACCOUNT_PREFIX

ROOT = Path(__file__).resolve().parent.parent


def _app() -> Flask:
    from service import create_app

    overrides = {} if os.environ.get("EGOVFLOW_SECRET_KEY") else {"SECRET_KEY": "cli-does-not-serve"}
    return create_app(overrides)


@click.group()
def main() -> None:
    """六安市电子政务项目全生命周期流程平台 — command line."""


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from processes.seed import seed_roles
    from service.migrate import upgrade

    app = _app()
    upgrade(app.config["DATABASE_URL"])
    state = app.extensions["egovflow"]
    with state.sessions() as session:
        seed_roles(session)  # roles and the default lane mapping are configuration, not demo data
        session.commit()
    click.echo(f"数据库已升级到最新版本: {_redacted(app.config['DATABASE_URL'])}")


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check BPMN/DMN files (and the forms they name) without deploying; exit 1 on any problem."""
    try:
        files = _read(paths)
        result = catalog.validate(files, REGISTRY, set(DEFAULT_LANES) | {SYSTEM_LANE})
    except click.ClickException as err:
        click.echo(f"校验失败: {err.message}", err=True)
        sys.exit(1)
    except Exception as err:  # noqa: BLE001 - whatever the input, print a line, never a traceback
        click.echo(f"校验失败: {err.__class__.__name__}: {err}", err=True)
        sys.exit(1)
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem))
        click.echo(f"共 {len(result.problems)} 个问题，不可部署", err=True)
        sys.exit(1)
    click.echo(
        f"校验通过: {len([n for n in files if n.endswith(('.bpmn', '.dmn'))])} 个模型文件，"
        f"{len([n for n in files if n.endswith('.json')])} 个表单"
    )


def _read(paths: tuple[Path, ...]) -> dict[str, bytes]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.ClickException(f"文件不存在: {', '.join(missing)}")
    return catalog.collect_files(paths, ROOT / "forms")


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def deploy_command(paths: tuple[Path, ...]) -> None:
    """Deploy BPMN/DMN files plus their forms; unchanged processes keep their version."""
    app = _app()
    state = app.extensions["egovflow"]
    files = _read(paths)
    with state.sessions() as session:
        from service.api.catalog import known_lanes_in

        try:
            versions = catalog.deploy(
                session,
                files,
                REGISTRY,
                now=state.runtime.clock.now(),
                user="cli",
                source=" ".join(str(p) for p in paths),
                lanes=known_lanes_in(session),
            )
        except BundleInvalid as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(err.message) from err
        session.commit()
    for v in versions:
        click.echo(f"{v.process_id} v{v.version} {'新版本' if v.created else '无变化'}  {v.name}")


@main.command("migrate")
@click.argument("process_id")
@click.option("--to", "to_version", type=click.IntRange(min=1), help="Target version (default: the newest).")
@click.option("--from", "from_version", type=click.IntRange(min=1), help="Only instances on this version.")
@click.option("--instance", "instance_ids", type=click.IntRange(min=1), multiple=True, help="Only these.")
@click.option("--at", "at_task", help="Only instances with an open task at this element id.")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
def migrate_command(
    process_id: str,
    to_version: int | None,
    from_version: int | None,
    instance_ids: tuple[int, ...],
    at_task: str | None,
    dry_run: bool,
) -> None:
    """Move a process's unfinished instances onto a version; exit 1 when any cannot move."""
    from processes.errors import NotFound
    from processes.migration import migrate_many

    state = _app().extensions["egovflow"]
    with state.sessions() as session:
        try:
            result = migrate_many(
                session,
                state.runtime,
                None,
                process_id,
                to_version,
                from_version=from_version,
                instance_ids=instance_ids or None,
                at_task=at_task,
                dry_run=dry_run,
            )
        except NotFound as err:
            raise click.ClickException(err.message) from err
    verb = "可迁移" if dry_run else "已迁移"
    for item in result.items:
        head = f"#{item.instance_id} 第 {item.from_version} 版 → 第 {item.to_version} 版"
        if item.problems:
            click.echo(f"{head}  不能迁移: {'；'.join(item.problems)}")
        else:
            extra = f"  新增: {'、'.join(item.added)}" if item.added else ""
            click.echo(f"{head}  {verb}{extra}")
    more = f"，另有 {result.remaining} 个待下次处理" if result.remaining else ""
    click.echo(f"{process_id}: {verb} {result.migrated} 个，不能迁移 {result.refused} 个{more}")
    if result.refused:
        sys.exit(1)


@main.command("seed")
@click.option("--no-projects", is_flag=True, help="Only organisations, accounts and experts.")
def seed_command(no_projects: bool) -> None:
    """Create demo organisations, accounts, the expert pool and projects at every stage (idempotent)."""
    from sqlalchemy import func, select

    from processes.scenarios import run_demo
    from processes.seed import seed_demo
    from processes.store.models import ProcessInstance
    from service.auth import hash_password

    app = _app()
    state = app.extensions["egovflow"]
    with state.sessions() as session:
        accounts = seed_demo(session, hash_password, state.runtime.clock.now())
        session.commit()
        has_instances = session.scalar(select(func.count(ProcessInstance.id))) > 0
    click.echo(f"演示账号已就绪: {len(accounts)} 个")
    if no_projects or has_instances:
        return
    click.echo("正在办理演示项目(申报、初审、立项、建设、验收、运维各阶段)…")
    result = run_demo(
        ROOT / "processes" / "demo" / "projects.yaml",
        state.sessions,
        state.engine,
        bpmn_dir=ROOT / "bpmn",
        forms_dir=ROOT / "forms",
    )
    click.echo(f"演示项目已就绪: {result.summary}")


@main.group("user")
def user_group() -> None:
    """Accounts: create one (the first admin of a new installation) or reset a password."""


@user_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name (姓名).")
@click.option("--unit", "unit_code", help="Organisation code (统一社会信用代码) the account belongs to.")
@click.option("--role", "roles", multiple=True, help="Role code; repeat for several (e.g. DSJ_CLERK).")
@click.option("--admin", "is_admin", is_flag=True, help="Process admin (diagrams, deploys, accounts).")
@click.option("--manager", "is_manager", is_flag=True, help="Sees the dashboard and every project.")
@click.password_option(prompt="密码", confirmation_prompt="再次输入密码", help="Asked for when not given.")
def user_add(
    username: str,
    display_name: str,
    unit_code: str | None,
    roles: tuple[str, ...],
    is_admin: bool,
    is_manager: bool,
    password: str,
) -> None:
    """Create an account whose password is the one typed here (no change required at first log-in)."""
    from processes import accounts
    from service.auth import hash_password

    state = _app().extensions["egovflow"]
    with state.sessions() as session:
        org_id = _org_id(session, unit_code) if unit_code else None
        with _form_errors():
            accounts.create_user(
                session,
                hash_password,
                username=username,
                display_name=display_name,
                password=password,
                organisation_id=org_id,
                roles=roles,
                is_admin=is_admin,
                is_manager=is_manager,
                must_change_password=False,
            )
        session.commit()
    click.echo(f"已创建用户 {username}（{display_name}）")


@user_group.command("password")
@click.argument("username")
@click.password_option(prompt="密码", confirmation_prompt="再次输入密码", help="Asked for when not given.")
def user_password(username: str, password: str) -> None:
    """Give an account a new password, which its holder must change at next log-in."""
    from processes import accounts
    from service.auth import hash_password

    state = _app().extensions["egovflow"]
    with state.sessions() as session, _form_errors():
        user = accounts.find_user(session, username)
        accounts.reset_password(session, hash_password, user.id, password)
        session.commit()
    click.echo(f"已重置用户 {username} 的密码；该用户下次登录时须修改密码")


@main.group("org")
def org_group() -> None:
    """Organisations (项目建设单位 and 市直部门)."""


@org_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--short", "short_name", help="Short name (简称); defaults to the full name.")
@click.option(
    "--kind", type=click.Choice(["unit", "bureau", "government"]), default="unit", show_default=True
)
def org_add(code: str, name: str, short_name: str | None, kind: str) -> None:
    """Add an organisation with its code (统一社会信用代码)."""
    from processes import accounts

    state = _app().extensions["egovflow"]
    with state.sessions() as session, _form_errors():
        accounts.create_organisation(session, code=code, name=name, short_name=short_name or name, kind=kind)
        session.commit()
    click.echo(f"已添加单位 {short_name or name}（{code}）")


def _org_id(session: Session, code: str) -> int:
    from sqlalchemy import select

    from processes.store.models import Organisation

    org_id = session.scalar(select(Organisation.id).where(Organisation.code == code))
    if org_id is None:
        raise click.ClickException(f"单位代码 {code} 不存在（先用 egovflow org add 添加）")
    return org_id


@contextmanager
def _form_errors() -> Iterator[None]:
    """Turn the account rules' errors into one line per problem and exit status 1."""
    from processes.errors import FormInvalid, NotFound

    try:
        yield
    except FormInvalid as err:
        for messages in err.errors.values():
            for message in messages:
                click.echo(message, err=True)
        raise click.ClickException("输入有误，未做任何修改") from err
    except NotFound as err:
        raise click.ClickException(err.message) from err


@main.command("logins")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Where the server listens.")
def logins_command(url: str) -> None:
    """Print how to log in to the demo."""
    click.echo("")
    click.echo("=" * 72)
    click.echo(f" 六安市电子政务项目全生命周期流程平台  {url}")
    click.echo(f" 所有演示账号的密码: {DEMO_PASSWORD}")
    click.echo("-" * 72)
    for username, display, _org, _roles, _admin, _mgr in STAFF:
        click.echo(f"  {username:<12} {display}")
    for short, prefix in UNIT_ACCOUNT_PREFIX.items():
        click.echo(f"  {prefix + '_jb':<12} {short}经办人    {prefix + '_fzr':<10} {short}负责人")
    click.echo("  expert01 … expert30  评审专家")
    click.echo(f" API 文档: {url}/api/docs")
    click.echo("=" * 72)


@main.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between ticks.")
@click.option("--once", is_flag=True, help="Run one tick and exit.")
def worker_command(interval: float, once: bool) -> None:
    """Advance instances whose timers are due (safe to run several on PostgreSQL)."""
    from processes.scheduler import Worker, tick

    app = _app()
    state = app.extensions["egovflow"]
    if once:
        click.echo(f"已推进 {tick(state.sessions, state.runtime)} 个实例")
        return
    click.echo(f"后台任务已启动，每 {interval} 秒检查一次到期定时器 (Ctrl+C 结束)")
    try:
        Worker(state.sessions, state.runtime, interval).run_forever()
    except KeyboardInterrupt:
        click.echo("后台任务已停止")


@main.group("scenario")
def scenario_group() -> None:
    """Scenario tests written in YAML."""


@scenario_group.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def scenario_run(files: tuple[Path, ...]) -> None:
    """Run scenario files against a fresh in-memory database; exit 1 when one fails or is missing."""
    from processes.scenarios import ScenarioFailed, run_file

    failed = 0
    for path in files:
        if not path.is_file():
            click.echo(f"出错 {path}: 文件不存在")
            failed += 1
            continue
        try:
            result = run_file(path, bpmn_dir=ROOT / "bpmn", forms_dir=ROOT / "forms")
            click.echo(f"通过 {path}: {result.summary}")
        except ScenarioFailed as err:
            click.echo(f"失败 {path}: {err}")
            failed += 1
        except Exception as err:  # noqa: BLE001 - a broken file is reported, and the others still run
            click.echo(f"出错 {path}: {err.__class__.__name__}: {err}")
            failed += 1
    if failed:
        sys.exit(1)
