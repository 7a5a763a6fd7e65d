"""Handler `aggregate_scores`: record the experts' scores and compute the review result."""

import statistics
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select

from handlers.coercion import as_decimal, as_text_list
from handlers.context import HandlerContext
from handlers.draw_experts import exclusion_reason
from handlers.errors import HandlerError
from handlers.localtime import local_date
from handlers.models import Expert, ExpertDraw, ExpertStatus, Project, ReviewScore
from handlers.money import CENT, MoneyError, parse_yuan, yuan_str
from handlers.results import flag, money, text

TITLE = "汇总专家评分"
RETURNS = {
    "review_score": text("评审得分"),
    "review_passed": flag("评审通过"),
    "recommended_budget": money("建议投资额"),
    "score_count": text("有效评分人数"),
}
ERRORS = ("invalid_scores",)

# With at least this many scores the highest and the lowest are dropped (if asked).
DROP_EXTREMES_FROM = 5


def _read_scores(scores: object, allowed: set[str], needed: int) -> tuple[list[dict], list[str]]:
    """Return the valid score entries and a list of problems in Chinese."""
    if not isinstance(scores, list) or not scores:
        return [], ["未收到任何专家评分"]
    problems, entries, seen = [], [], set()
    for position, item in enumerate(scores, start=1):
        if not isinstance(item, dict):
            problems.append(f"第{position}条评分格式不正确")
            continue
        username = item.get("username")
        if username not in allowed:
            problems.append(f"{username or f'第{position}条评分'}不是本次抽取的评审专家")
            continue
        if username in seen:
            problems.append(f"专家 {username} 重复提交评分")
            continue
        seen.add(username)
        score = as_decimal(item.get("score"))
        if score is None or not 0 <= score <= 100:
            problems.append(f"专家 {username} 的评分应为0至100之间的数字")
            continue
        budget = item.get("recommended_budget")
        if budget in (None, ""):
            budget = None
        else:
            try:
                budget = parse_yuan(budget, f"专家 {username} 的建议金额")
            except MoneyError as err:
                problems.append(str(err))
                continue
        entries.append(
            {
                "username": username,
                "score": score,
                "budget": budget,
                "opinion": str(item.get("opinion") or ""),
            }
        )
    if not problems and len(entries) < needed:
        problems.append(f"应收到{needed}位专家的评分，实际收到{len(entries)}位")
    return entries, problems


def mean_score(scores: list[Decimal], drop_extremes: bool) -> Decimal:
    """Return the mean rounded to 0.01, without the highest and lowest when there are enough scores."""
    ordered = sorted(scores)
    if drop_extremes and len(ordered) >= DROP_EXTREMES_FROM:
        ordered = ordered[1:-1]
    return (sum(ordered) / len(ordered)).quantize(CENT, rounding=ROUND_HALF_UP)


def _manual_draw(ctx: HandlerContext, panel: object) -> ExpertDraw:
    """Record a panel the 项目科 named by hand (no random draw), refusing experts who must avoid the unit."""
    usernames = list(dict.fromkeys(as_text_list(panel)))
    if not usernames:
        raise HandlerError("invalid_scores", "专家评分无效：人工组织的评审专家名单为空")
    if not ctx.project_id:
        raise ValueError("人工组织专家评审须在项目流程中进行（缺少项目编号）")
    found = ctx.session.scalars(select(Expert).where(Expert.username.in_(usernames)))
    experts = {expert.username: expert for expert in found}
    parties = {ctx.unit_code: "项目建设单位"} if ctx.unit_code else {}
    today = local_date(ctx.now)
    problems = []
    for username in usernames:
        expert = experts.get(username)
        if expert is None:
            problems.append(f"{username} 不在专家库中")
        elif expert.status != ExpertStatus.ACTIVE.value:
            problems.append(f"专家 {expert.name}（{username}）已暂停抽取")
        elif reason := exclusion_reason(expert, parties, today, set()):
            problems.append(f"专家 {expert.name}（{username}）应回避：{reason}")
    if problems:
        raise HandlerError(
            "invalid_scores", "专家评分无效：" + "；".join(problems), details={"problems": problems}
        )
    draw = ExpertDraw(
        project_id=ctx.project_id,
        purpose="EXPERT_REVIEW",
        instance_id=ctx.instance_id,
        seed=0,  # no random draw: the panel was named by hand
        pool_size=len(usernames),
        candidates=[],
        specialties=[],
        excluded=[],
        selected=usernames,
        backups=[],
        drawn_at=ctx.now,
    )
    ctx.session.add(draw)
    ctx.session.flush()
    return draw


def handle(
    ctx: HandlerContext,
    *,
    draw_id: int | None,
    scores: list[dict],
    pass_score: float = 60,
    drop_extremes: bool = True,
    min_scores: int | None = None,
    panel: list[str] | None = None,
) -> dict:
    """Store each expert's score and return the panel's mean, pass flag and median budget.

    Without a `draw_id` (the 项目科 organised the panel by hand after a failed draw) the usernames in
    `panel` are recorded as a draw of their own, after checking none of them must avoid the unit.
    """
    session = ctx.session
    draw = _manual_draw(ctx, panel) if draw_id is None else session.get(ExpertDraw, int(draw_id))
    if draw is None:
        raise LookupError(f"没有编号为 {draw_id} 的专家抽取记录")
    allowed = set(draw.selected) | set(draw.backups)
    needed = len(draw.selected) if min_scores is None else int(min_scores)
    entries, problems = _read_scores(scores, allowed, needed)
    if problems:
        raise HandlerError(
            "invalid_scores", "专家评分无效：" + "；".join(problems), details={"problems": problems}
        )

    names = dict(
        session.execute(
            select(Expert.username, Expert.name).where(Expert.username.in_([e["username"] for e in entries]))
        ).all()
    )
    # Re-aggregating a draw (e.g. after a re-review) replaces its earlier scores.
    session.execute(delete(ReviewScore).where(ReviewScore.draw_id == draw.id))
    for entry in entries:
        session.add(
            ReviewScore(
                draw_id=draw.id,
                username=entry["username"],
                expert_name=names[entry["username"]],
                score=entry["score"],
                recommended_budget=entry["budget"],
                opinion=entry["opinion"],
                submitted_at=ctx.now,
            )
        )

    review_score = mean_score([entry["score"] for entry in entries], bool(drop_extremes))
    passed = review_score >= as_decimal(pass_score)
    budgets = [entry["budget"] for entry in entries if entry["budget"] is not None]
    budget = Decimal(statistics.median(budgets)).quantize(CENT, rounding=ROUND_HALF_UP) if budgets else None

    draw.review_score, draw.review_passed, draw.recommended_budget = review_score, passed, budget
    draw.aggregated_at = ctx.now
    if budget is not None and draw.purpose == "EXPERT_REVIEW":
        project = session.scalar(select(Project).where(Project.project_id == draw.project_id))
        if project is not None:
            project.recommended_budget = budget
            project.updated_at = ctx.now
    session.flush()
    return {
        "review_score": float(review_score),
        "review_passed": passed,
        "recommended_budget": yuan_str(budget) if budget is not None else None,
        "score_count": len(entries),
    }
