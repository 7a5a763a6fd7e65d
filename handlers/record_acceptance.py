"""Handler `record_acceptance`: check an acceptance's preconditions and record a 公管局-witnessed 竣工验收.

The stages of one acceptance share the trial-run rules. A 初验 (stage PRELIM) is only checked — its dates
decide when the one-month 试运行 can end, and its result stays the task's own data. The 竣工验收 meeting's
date (MEETING) and the witness's signing date (WITNESS) are only checked, each right after its own task.
The 竣工验收 itself (stage FINAL) is checked and recorded.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.check_progress import recorded_reports
from handlers.context import HandlerContext
from handlers.documents import kind_label, present_kinds
from handlers.errors import HandlerError
from handlers.localtime import add_months, local_date, parse_date
from handlers.models import Acceptance, Contract, Project, ProjectStatus
from handlers.queries import load_project
from handlers.results import flag, internal, text, when

TITLE = "验收校验与登记"
RETURNS = {
    "acceptance_id": internal(text("验收记录编号")),
    "accepted_at": when("验收时间"),
    "acceptance_passed": flag("验收通过"),
    "acceptance_conclusion": text("验收结论"),
}
ERRORS = (
    "trial_too_short",
    "reports_missing",
    "witness_missing",
    "prelim_dates_invalid",
    "meeting_date_invalid",
    "witness_date_invalid",
)

CONCLUSIONS = {"PASS": "通过", "RECTIFY": "限期整改", "FAIL": "不通过"}
PRELIM, MEETING, WITNESS, FINAL = "PRELIM", "MEETING", "WITNESS", "FINAL"
STAGES = (PRELIM, MEETING, WITNESS, FINAL)
# 公管局 however the witness writes it: 市公管局, 六安市公管局, (六安)市公共资源交易监督管理局.
WITNESS_ORG_NAMES = ("公管局", "公共资源交易监督管理局")


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
    org = "".join(str(witness.get("org") or "").split())
    org_ok = witness.get("org_code") == "GGJ" or any(name in org for name in WITNESS_ORG_NAMES)
    return (
        org_ok
        and bool(str(witness.get("name") or "").strip())
        and witness.get("signed") is True
        and parse_date(witness.get("signed_at")) is not None
    )


def prelim_bounds(session: Session, project: Project) -> list[tuple[date, str]]:
    """Return the days before which no 初验 can be held, each with the fact it comes from.

    The contract on record was signed on the first; construction was reported complete in the period of the
    last progress report (the construction loop ends with the report that says so), from its first day.
    """
    bounds: list[tuple[date, str]] = []
    signed = session.scalar(
        select(Contract.signed_at)
        .where(Contract.project_id == project.project_id, Contract.checked_ok.is_(True))
        .order_by(Contract.id.desc())
        .limit(1)
    )
    if signed is not None:
        bounds.append((signed, f"合同签订日期{signed.isoformat()}"))
    reports = recorded_reports(project)
    period = str(reports[-1].get("period") or "") if reports else ""
    completed = parse_date(f"{period}-01")
    if completed is not None:
        bounds.append((completed, f"报告建设完成的进度报告期{period}（{completed.isoformat()}起）"))
    return bounds


def prelim_problems(
    prelim_date: object,
    trial_started_at: object,
    passed: bool,
    today: date,
    not_before: list[tuple[date, str]] | None = None,
) -> list[str]:
    """Return what is wrong with a 初验's date and, when it passed, the 试运行's start (Beijing dates).

    `not_before` lists the days (with what they are) the 初验 cannot precede: the contract's signing and the
    period in which construction was reported complete.
    """
    problems: list[str] = []
    held = parse_date(prelim_date)
    if held is None:
        problems.append("初验日期未填写或格式不正确")
    elif held > today:
        problems.append(
            f"初验日期{held.isoformat()}晚于今天（{today.isoformat()}），请填写实际召开初验的日期"
        )
    else:
        for bound, what in not_before or []:
            if held < bound:
                # A 初验 before the system was built would start the trial month early (R12, R13).
                problems.append(f"初验日期{held.isoformat()}早于{what}，初验须在项目建设完成后组织")
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


def final_date_problems(
    label: str, value: object, trial_started_at: object, trial_months: int, today: date
) -> list[str]:
    """Return what is wrong with a date of the 竣工验收 (the meeting's, the witness's signing).

    It must be a real day up to today (Beijing) and not before the 试运行 had lasted `trial_months`: the
    application, and so the meeting, can only come after that.
    """
    day = parse_date(value)
    if day is None:
        return [f"{label}未填写或格式不正确"]
    problems: list[str] = []
    if day > today:
        problems.append(f"{label}{day.isoformat()}晚于今天（{today.isoformat()}），请填写实际的日期")
    started = parse_date(trial_started_at)
    if started is not None and day < add_months(started, int(trial_months)):
        problems.append(
            f"{label}{day.isoformat()}早于试运行期满日{add_months(started, int(trial_months)).isoformat()}"
            f"（试运行自{started.isoformat()}开始），竣工验收须在试运行满{trial_months}个月、提出申请之后进行"
        )
    return problems


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    trial_started_at: str | None,
    conclusion: str | None = None,
    stage: str = FINAL,
    prelim_date: str | None = None,
    acceptance_date: str | None = None,
    reports: list[dict] | None = None,
    mlps_level: int | None = None,
    crypto_required: bool | None = None,
    witness: dict | None = None,
    trial_months: int = 1,
    mlps_report_from_level: int = 2,
) -> dict:
    """Check a 初验's dates (PRELIM), the 竣工验收 meeting's (MEETING) or witness's (WITNESS) date, or
    check and record a 竣工验收 (FINAL): trial length, reports, witness.

    The check-only stages return {} or raise their `*_invalid` error naming every problem.
    """
    if stage not in STAGES:
        raise ValueError(f"验收阶段应为 {'、'.join(STAGES)} 之一：{stage!r}")
    if stage in (PRELIM, FINAL) and conclusion not in CONCLUSIONS:
        raise ValueError(f"验收结论应为 {'、'.join(CONCLUSIONS)} 之一：{conclusion!r}")
    project = load_project(ctx.session, project_id)
    if stage == PRELIM:
        bounds = prelim_bounds(ctx.session, project)
        today = local_date(ctx.now)
        problems = prelim_problems(prelim_date, trial_started_at, conclusion == "PASS", today, bounds)
        if problems:
            message = "初验登记未通过：" + "；".join(problems)
            raise HandlerError("prelim_dates_invalid", message, details={"problems": problems})
        return {}
    if stage in (MEETING, WITNESS):
        meeting = stage == MEETING
        value = acceptance_date if meeting else (witness or {}).get("signed_at")
        label = "验收日期" if meeting else "见证日期"
        problems = final_date_problems(label, value, trial_started_at, trial_months, local_date(ctx.now))
        if problems:
            code = "meeting_date_invalid" if meeting else "witness_date_invalid"
            message = ("竣工验收" if meeting else "现场见证") + "登记未通过：" + "；".join(problems)
            raise HandlerError(code, message, details={"problems": problems})
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
