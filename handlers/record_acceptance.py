"""Handler `record_acceptance`: check an acceptance's preconditions and record a 公管局-witnessed 竣工验收.

Two stages of one acceptance share the trial-run rules: a 初验 (stage PRELIM) is only checked — its dates
decide when the one-month 试运行 can end, and its result stays the task's own data — while a 竣工验收
(stage FINAL) is checked and recorded.
"""

from datetime import date

from handlers.context import HandlerContext
from handlers.documents import kind_label, present_kinds
from handlers.errors import HandlerError
from handlers.localtime import add_months, local_date, parse_date
from handlers.models import Acceptance, ProjectStatus
from handlers.queries import load_project
from handlers.results import flag, internal, text, when

TITLE = "验收校验与登记"
RETURNS = {
    "acceptance_id": internal(text("验收记录编号")),
    "accepted_at": when("验收时间"),
    "acceptance_passed": flag("验收通过"),
    "acceptance_conclusion": text("验收结论"),
}
ERRORS = ("trial_too_short", "reports_missing", "witness_missing", "prelim_dates_invalid")

CONCLUSIONS = {"PASS": "通过", "RECTIFY": "限期整改", "FAIL": "不通过"}
PRELIM, FINAL = "PRELIM", "FINAL"
WITNESS_ORGS = frozenset({"GGJ", "市公管局", "六安市公共资源交易监督管理局", "市公共资源交易监督管理局"})


def required_reports(mlps_level: int | None, crypto_required: bool, mlps_from_level: int) -> list[str]:
    """Return the report kinds a 竣工验收 needs for this project."""
    kinds = ["TRIAL_REPORT", "TEST_REPORT"]
    if mlps_level is not None and mlps_level >= mlps_from_level:
        kinds.append("MLPS_REPORT")
    if crypto_required:
        kinds.append("CRYPTO_ASSESSMENT")
    return kinds


def witness_signed(witness: object) -> bool:
    """Return True if a named person of 市公管局 has signed, with a readable signing time."""
    if not isinstance(witness, dict):
        return False
    org_ok = witness.get("org") in WITNESS_ORGS or witness.get("org_code") == "GGJ"
    return (
        org_ok
        and bool(str(witness.get("name") or "").strip())
        and witness.get("signed") is True
        and parse_date(witness.get("signed_at")) is not None
    )


def prelim_problems(prelim_date: object, trial_started_at: object, passed: bool, today: date) -> list[str]:
    """Return what is wrong with a 初验's date and, when it passed, the 试运行's start (Beijing dates)."""
    problems: list[str] = []
    held = parse_date(prelim_date)
    if held is None:
        problems.append("初验日期未填写或格式不正确")
    elif held > today:
        problems.append(
            f"初验日期{held.isoformat()}晚于今天（{today.isoformat()}），请填写实际召开初验的日期"
        )
    if not passed:
        return problems
    started = parse_date(trial_started_at)
    if started is None:
        problems.append("试运行开始日期未填写或格式不正确")
        return problems
    if held is not None and started < held:
        # A start before the 初验 would count days of a trial run that had not begun (R13).
        problems.append(
            f"试运行开始日期{started.isoformat()}早于初验日期{held.isoformat()}，初验通过后方可上线试运行"
        )
    if started > today:
        problems.append(
            f"试运行开始日期{started.isoformat()}晚于今天（{today.isoformat()}），请在上线试运行后填写实际开始日期"
        )
    return problems


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    trial_started_at: str | None,
    conclusion: str,
    stage: str = FINAL,
    prelim_date: str | None = None,
    reports: list[dict] | None = None,
    mlps_level: int | None = None,
    crypto_required: bool | None = None,
    witness: dict | None = None,
    trial_months: int = 1,
    mlps_report_from_level: int = 2,
) -> dict:
    """Check a 初验's dates (PRELIM), or check and record a 竣工验收: trial length, reports, witness."""
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"验收结论应为 {'、'.join(CONCLUSIONS)} 之一：{conclusion!r}")
    if stage not in (PRELIM, FINAL):
        raise ValueError(f"验收阶段应为 {PRELIM} 或 {FINAL}：{stage!r}")
    project = load_project(ctx.session, project_id)
    if stage == PRELIM:
        problems = prelim_problems(prelim_date, trial_started_at, conclusion == "PASS", local_date(ctx.now))
        if problems:
            message = "初验登记未通过：" + "；".join(problems)
            raise HandlerError("prelim_dates_invalid", message, details={"problems": problems})
        return {}
    mlps_level = project.mlps_level if mlps_level is None else int(mlps_level)
    crypto_required = project.crypto_required if crypto_required is None else bool(crypto_required)
    today = local_date(ctx.now)

    failures: list[tuple[str, str]] = []
    started = parse_date(trial_started_at)
    if started is None:
        failures.append(("trial_too_short", "试运行开始日期未填写或格式不正确"))
    elif add_months(started, int(trial_months)) > today:
        failures.append(
            (
                "trial_too_short",
                f"试运行自{started.isoformat()}开始，不满{trial_months}个月，"
                f"最早可于{add_months(started, int(trial_months)).isoformat()}验收",
            )
        )
    present = present_kinds(reports)
    missing = [
        kind
        for kind in required_reports(mlps_level, crypto_required, int(mlps_report_from_level))
        if kind not in present
    ]
    if missing:
        failures.append(
            ("reports_missing", f"缺少验收材料：{'、'.join(kind_label(kind) for kind in missing)}")
        )
    if not witness_signed(witness):
        failures.append(("witness_missing", "竣工验收须由市公管局见证人员签字确认"))
    if failures:
        problems = [message for _, message in failures]
        # The first failure decides the error code; the details carry all of them.
        raise HandlerError(
            failures[0][0],
            "；".join(problems),
            details={
                "problems": problems,
                "codes": [code for code, _ in failures],
                "missing_reports": missing,
            },
        )

    passed = conclusion == "PASS"
    record = Acceptance(
        project_id=project_id,
        stage="FINAL",
        trial_started_at=started,
        accepted_at=ctx.now,
        reports=list(reports or []),
        mlps_level=mlps_level,
        crypto_required=crypto_required,
        witness=dict(witness),
        conclusion=conclusion,
        passed=passed,
    )
    ctx.session.add(record)
    if passed:
        project.status = ProjectStatus.ACCEPTED.value
        project.stage = "运维"
    else:
        project.stage = "验收"
    project.updated_at = ctx.now
    ctx.session.flush()
    return {
        "acceptance_id": record.id,
        "accepted_at": ctx.now.isoformat(),
        "acceptance_passed": passed,
        "acceptance_conclusion": CONCLUSIONS[conclusion],
    }
