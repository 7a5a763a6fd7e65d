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
from service.cli_words import install as install_chinese_words

ROOT = Path(__file__).resolve().parent.parent
install_chinese_words()


def _app() -> Flask:
    from service import create_app

    overrides = {} if os.environ.get("EGOVFLOW_SECRET_KEY") else {"SECRET_KEY": "cli-does-not-serve"}
    return create_app(overrides)


@click.group(help="六安市电子政务项目全生命周期流程平台命令行。")
def main() -> None:
    """六安市电子政务项目全生命周期流程平台 — command line."""


@main.group("db", help="数据库结构。")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade", help="创建数据库结构或升级到最新版本。")
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


@main.command("validate", help="校验 BPMN/DMN 文件及其引用的表单，不部署；有问题时逐条列出并以状态 1 退出。")
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


@main.command("deploy", help="部署 BPMN/DMN 文件及其引用的表单；内容未变的流程不生成新版本。")
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


@main.command("migrate", help="把流程未结束的实例迁移到指定版本；有实例不能迁移时以状态 1 退出。")
@click.argument("process_id")
@click.option("--to", "to_version", type=click.IntRange(min=1), help="目标版本（默认最新版本）。")
@click.option("--from", "from_version", type=click.IntRange(min=1), help="只迁移该版本上的实例。")
@click.option(
    "--instance", "instance_ids", type=click.IntRange(min=1), multiple=True, help="只迁移这些实例（可重复）。"
)
@click.option("--at", "at_task", help="只迁移在该元素 ID 处有待办的实例。")
@click.option("--dry-run", is_flag=True, help="只报告将发生的变化，不做任何修改。")
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


@main.command("seed", help="创建演示单位、账号、专家库和各阶段的演示项目（可重复运行）。")
@click.option("--no-projects", is_flag=True, help="只创建单位、账号和专家。")
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


@main.group("user", help="账号：创建账号（新安装的第一个管理员）或重置密码。")
def user_group() -> None:
    """Accounts: create one (the first admin of a new installation) or reset a password."""


@user_group.command("add", help="创建账号，密码即此处输入的密码（首次登录无须修改）。")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="姓名。")
@click.option("--unit", "unit_code", help="账号所属单位的统一社会信用代码。")
@click.option("--role", "roles", multiple=True, help="角色代码，可重复（如 DSJ_CLERK）。")
@click.option("--admin", "is_admin", is_flag=True, help="流程管理员（流程图、部署、账号）。")
@click.option("--manager", "is_manager", is_flag=True, help="管理人员：可看看板和全部项目。")
@click.password_option(prompt="密码", confirmation_prompt="再次输入密码", help="不在命令行给出时提示输入。")
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


@user_group.command("password", help="为账号设置新密码，持有人下次登录时须修改。")
@click.argument("username")
@click.password_option(prompt="密码", confirmation_prompt="再次输入密码", help="不在命令行给出时提示输入。")
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


@main.group("org", help="单位（项目建设单位和市直部门）。")
def org_group() -> None:
    """Organisations (项目建设单位 and 市直部门)."""


@org_group.command("add", help="按统一社会信用代码添加单位。")
@click.argument("code")
@click.argument("name")
@click.option("--short", "short_name", help="简称，默认与全称相同。")
@click.option(
    "--kind",
    type=click.Choice(["unit", "bureau", "government"]),
    default="unit",
    show_default=True,
    help="单位类别：unit 项目建设单位，bureau 市直部门，government 市政府。",
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


@main.command("logins", help="显示演示账号的登录方式。")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="服务地址。")
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


@main.command("worker", help="推进定时器已到期的实例（PostgreSQL 上可同时运行多个）。")
@click.option("--interval", default=5.0, show_default=True, help="两次检查之间的秒数。")
@click.option("--once", is_flag=True, help="只检查一次后退出。")
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


@main.group("scenario", help="以 YAML 编写的场景测试。")
def scenario_group() -> None:
    """Scenario tests written in YAML."""


@scenario_group.command("run", help="在新建的内存数据库上运行场景文件；有失败或文件不存在时以状态 1 退出。")
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
