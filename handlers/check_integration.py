"""Handler `check_integration`: the gate of 集约整合, 数据共享 and 电子政务外网 deployment."""

from handlers.context import HandlerContext
from handlers.results import flag, listing

TITLE = "集约整合与数据共享审查"
RETURNS = {"integration_ok": flag("符合集约整合要求"), "integration_problems": listing("集约整合问题")}
ERRORS: tuple[str, ...] = ()

# 凡不按要求完成信息化基础设施和应用系统集约整合、不按规定共享数据、不按要求部署在电子政务外网的，
# 一律不予审批项目、不予安排经费。
PROBLEMS = {
    "on_egov_extranet": "项目未按要求部署在电子政务外网。",
    "uses_gov_cloud": "项目未按要求依托市政务云平台等基础设施集约整合建设。",
    "data_sharing_committed": "项目未承诺按规定通过江淮大数据中心六安市子平台共享数据。",
}


def handle(
    ctx: HandlerContext,
    *,
    on_egov_extranet: bool | None,
    uses_gov_cloud: bool | None,
    data_sharing_committed: bool | None,
) -> dict:
    """Return whether the project may be approved at all, with a sentence per unmet requirement."""
    answers = {
        "on_egov_extranet": on_egov_extranet,
        "uses_gov_cloud": uses_gov_cloud,
        "data_sharing_committed": data_sharing_committed,
    }
    # Only an explicit yes counts: a missing answer is not a commitment.
    problems = [PROBLEMS[key] for key, answer in answers.items() if answer is not True]
    return {"integration_ok": not problems, "integration_problems": problems}
