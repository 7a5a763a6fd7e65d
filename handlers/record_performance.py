"""Handler `record_performance`: grade a performance evaluation score and store it on the register."""

from decimal import ROUND_HALF_UP

from handlers.coercion import as_decimal, as_int
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import local_date
from handlers.models import PerformanceEval
from handlers.money import CENT
from handlers.queries import load_project
from handlers.results import choice, text

TITLE = "记录绩效评价结果"
ERRORS = ("invalid_score",)

# (lowest score of the grade, code, name), best first; a common grading of 财政 performance evaluations.
GRADES = ((90, "EXCELLENT", "优"), (80, "GOOD", "良"), (60, "FAIR", "中"), (0, "POOR", "差"))
GRADE_NAMES = {code: name for _, code, name in GRADES}
RETURNS = {
    "perf_grade": choice("绩效等级", GRADE_NAMES),
    "perf_grade_name": text("绩效等级"),
    "perf_score": text("绩效评价得分"),
    "perf_year": text("评价年度"),
}
EVALUATION_TYPES = {"SELF": "单位自评", "THIRD_PARTY": "第三方评价", "POST": "后评价"}


def grade_of(score: float) -> str:
    """Return the grade code of a 0–100 score."""
    return next(code for floor, code, _ in GRADES if score >= floor)


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    score: float,
    year: int | None = None,
    evaluation_type: str = "SELF",
) -> dict:
    """Store the evaluation and the project's latest grade; return grade code and Chinese name."""
    value = as_decimal(score)
    if value is None or not 0 <= value <= 100:
        raise HandlerError("invalid_score", f"绩效评价得分应为0至100之间的数字：{score}")
    if evaluation_type not in EVALUATION_TYPES:
        raise ValueError(f"评价类型应为 {'、'.join(EVALUATION_TYPES)} 之一")
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    year = as_int(year) or local_date(ctx.now).year
    project = load_project(ctx.session, project_id)
    grade = grade_of(value)
    ctx.session.add(
        PerformanceEval(
            project_id=project_id,
            year=year,
            evaluation_type=evaluation_type,
            score=value,
            grade=grade,
            evaluated_at=ctx.now,
        )
    )
    project.last_perf_score, project.last_perf_grade, project.updated_at = value, grade, ctx.now
    ctx.session.flush()
    return {
        "perf_grade": grade,
        "perf_grade_name": GRADE_NAMES[grade],
        "perf_score": float(value),
        "perf_year": year,
    }
