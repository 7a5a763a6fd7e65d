"""draw_experts and aggregate_scores."""

from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.demo_data import DEMO_UNITS, DEMO_VENDORS, UNIT_BY_SHORT
from handlers.draw_experts import default_seed
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Expert, ExpertDraw, Project, ReviewScore
from tests.handlers.handler_support import EDU, NOW, at, call

PROJECT = "LA-2026-0001"


def draw(ctx, **params):
    params = {"project_id": PROJECT, "unit_code": EDU["code"], **params}
    return call("draw_experts", ctx, **params)


def conflicted(session, *codes):
    """Usernames an honest draw must never return for these organisations on that day."""
    found = set()
    for expert in session.scalars(select(Expert)):
        if expert.status != "ACTIVE" or expert.employer_code in codes:
            found.add(expert.username)
        for tie in expert.avoid_orgs:
            if tie["code"] in codes and (tie["until"] is None or tie["until"] >= NOW.date().isoformat()):
                found.add(expert.username)
    return found


@pytest.mark.parametrize("unit", DEMO_UNITS, ids=[u["short"] for u in DEMO_UNITS])
def test_conflicted_experts_are_never_drawn(ctx, experts, unit):
    vendor = DEMO_VENDORS[0]["code"]
    banned = conflicted(ctx.session, unit["code"], vendor)
    assert banned  # every demo unit has an employee or a tie
    for seed in range(60):
        result = draw(ctx, unit_code=unit["code"], vendor_code=vendor, seed=seed)
        drawn = set(result["expert_usernames"]) | {e["username"] for e in result["expert_backups"]}
        assert not drawn & banned, (seed, drawn & banned)
        assert len(result["expert_usernames"]) == 5 and len(result["expert_backups"]) == 2
        assert len(drawn) == 7


def test_exclusions_are_recorded_with_reasons(ctx, experts):
    result = draw(ctx, vendor_code=DEMO_VENDORS[0]["code"], seed=7)
    reasons = {item["username"]: item["reason"] for item in result["excluded_experts"]}
    assert reasons["expert07"] == "所在单位为项目建设单位"
    assert reasons["expert15"] == "所在单位为承建单位"
    assert reasons["expert12"] == "与项目建设单位存在关联（担任信息化顾问，回避至2027-12-31）"
    assert reasons["expert23"].startswith("与承建单位存在关联")
    assert "expert28" not in reasons  # suspended experts are not in the pool at all
    row = ctx.session.get(ExpertDraw, result["draw_id"])
    assert row.pool_size == result["draw_pool_size"] == 30 - 1 - len(reasons)
    assert row.selected == result["expert_usernames"] and row.seed == 7
    assert {item["expert"] for item in row.excluded} == set(reasons)


def test_an_expired_tie_no_longer_excludes(ctx, experts):
    police = UNIT_BY_SHORT["市公安局"]["code"]  # expert18's dispute with it ran until 2026-06-30
    before = at(ctx, datetime(2026, 6, 30, 9, 0, tzinfo=BEIJING))
    assert "expert18" in {e["username"] for e in draw(before, unit_code=police, seed=1)["excluded_experts"]}
    assert "expert18" not in {e["username"] for e in draw(ctx, unit_code=police, seed=1)["excluded_experts"]}


def test_draw_is_reproducible_from_its_seed(ctx, experts):
    first = draw(ctx)
    assert first["draw_seed"] == default_seed(PROJECT, "EXPERT_REVIEW", "2026-11-25")
    again = draw(ctx)  # same project, purpose and day: same default seed, same panel
    assert again["expert_panel"] == first["expert_panel"] and again["draw_id"] != first["draw_id"]
    replay = draw(at(ctx, datetime(2027, 3, 1, tzinfo=BEIJING)), seed=first["draw_seed"])
    assert replay["expert_usernames"] == first["expert_usernames"]
    assert replay["expert_backups"] == first["expert_backups"]
    panels = {tuple(draw(ctx, seed=seed)["expert_usernames"]) for seed in range(20)}
    assert len(panels) > 10  # and different seeds give different panels
    assert draw(ctx, purpose="ACCEPTANCE")["draw_seed"] != first["draw_seed"]


@pytest.mark.parametrize(
    "wanted", [["SOFTWARE", "SECURITY", "COST"], ["CRYPTO", "DATA", "NETWORK", "DOMAIN", "COST"], ["CRYPTO"]]
)
def test_each_specialty_is_covered(ctx, experts, wanted):
    for seed in range(40):
        panel = draw(ctx, specialties=wanted, seed=seed)["expert_panel"]
        covered = {s for expert in panel for s in expert["specialties"]}
        assert set(wanted) <= covered, seed


def test_insufficient_pool(ctx, experts):
    crypto = ctx.session.scalars(
        select(Expert).where(Expert.username.in_(["expert02", "expert11", "expert22"]))
    )
    for expert in crypto:
        expert.status = "SUSPENDED"  # expert18 (tied to nobody here) is the last CRYPTO expert
    ctx.session.flush()
    with pytest.raises(HandlerError) as caught:
        draw(ctx, specialties=["CRYPTO"], exclude_usernames=["expert18"])
    assert caught.value.code == "expert_pool_insufficient" and "商用密码" in caught.value.message

    with pytest.raises(HandlerError) as caught:
        draw(ctx, panel_size=25, backups=2)
    assert caught.value.code == "expert_pool_insufficient" and "不足" in caught.value.message

    with pytest.raises(HandlerError) as caught:
        draw(ctx, specialties=["CRYPTO", "COST", "NETWORK"], panel_size=1)
    assert caught.value.code == "expert_pool_insufficient"
    assert ctx.session.scalars(select(ExpertDraw)).all() == []


def test_no_specialty_requirement_and_explicit_exclusions(ctx, experts):
    result = draw(ctx, specialties=[], panel_size=3, backups=0, exclude_usernames=["expert01", "expert02"])
    assert len(result["expert_usernames"]) == 3 and not {"expert01", "expert02"} & set(
        result["expert_usernames"]
    )
    reasons = {item["username"]: item["reason"] for item in result["excluded_experts"]}
    assert reasons["expert01"] == "本项目本轮已回避或已抽取"


def test_unknown_specialty_is_a_modelling_error(ctx, experts):
    with pytest.raises(ValueError, match="专业代码"):
        draw(ctx, specialties=["PHYSICS"])


# --- aggregate_scores -------------------------------------------------------------------------------


@pytest.fixture
def review(ctx, experts, make_project):
    project_id = make_project()
    result = call("draw_experts", ctx, project_id=project_id, unit_code=EDU["code"], seed=3)
    return result


def scores_for(review, values, budgets=None):
    budgets = budgets or [None] * len(values)
    users = review["expert_usernames"]
    return [
        {"username": user, "score": value, "recommended_budget": budget, "opinion": "同意"}
        for user, value, budget in zip(users, values, budgets, strict=False)
    ]


def test_mean_drops_extremes_and_budget_is_the_median(ctx, review):
    budgets = ["3,000,000", 2800000, "2,900,000.50", "3100000", 2500000]
    result = call(
        "aggregate_scores",
        ctx,
        draw_id=review["draw_id"],
        scores=scores_for(review, [90, 70, 80, 85, 40], budgets),
    )
    # drop 90 and 40: (70 + 80 + 85) / 3 = 78.33
    assert result == {
        "review_score": 78.33,
        "review_passed": True,
        "recommended_budget": "2900000.50",
        "score_count": 5,
    }
    stored = ctx.session.scalars(select(ReviewScore).order_by(ReviewScore.id)).all()
    assert [s.username for s in stored] == review["expert_usernames"] and stored[0].expert_name
    project_budget = ctx.session.scalar(select(Project.recommended_budget))
    assert str(project_budget) == "2900000.50"


def test_plain_mean_and_even_median(ctx, review):
    items = scores_for(review, [90, 70, 80, 85, 40], ["100", "200", "300", "400", None])
    result = call(
        "aggregate_scores", ctx, draw_id=review["draw_id"], scores=items, drop_extremes=False, pass_score=75
    )
    assert result["review_score"] == 73.0 and result["review_passed"] is False
    assert result["recommended_budget"] == "250.00"
    four = call("aggregate_scores", ctx, draw_id=review["draw_id"], scores=items[:4], min_scores=4)
    assert four["review_score"] == 81.25  # fewer than five: nothing dropped
    assert len(ctx.session.scalars(select(ReviewScore)).all()) == 4  # re-aggregation replaced the scores


def test_a_backup_may_score(ctx, review):
    items = scores_for(review, [60, 60, 60, 60, 60])
    items[0]["username"] = review["expert_backups"][0]["username"]
    assert call("aggregate_scores", ctx, draw_id=review["draw_id"], scores=items)["review_passed"] is True


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda s: s.clear(), "未收到"),
        (lambda s: s[0].update(score=101), "0至100"),
        (lambda s: s[0].update(score="优"), "0至100"),
        (lambda s: s[1].update(score=None), "0至100"),
        (lambda s: s[0].update(username="expert07"), "不是本次抽取"),
        (lambda s: s[1].update(username=s[0]["username"]), "重复"),
        (lambda s: s.pop(), "应收到5位"),
        (lambda s: s[0].update(recommended_budget="-1"), "负数"),
    ],
)
def test_invalid_scores_are_refused(ctx, review, mutate, fragment):
    items = scores_for(review, [80, 80, 80, 80, 80])
    mutate(items)
    with pytest.raises(HandlerError) as caught:
        call("aggregate_scores", ctx, draw_id=review["draw_id"], scores=items)
    assert caught.value.code == "invalid_scores" and fragment in caught.value.message


# --- aggregate_scores after a panel organised by hand ------------------------------------------------


def manual_scores(usernames, values):
    return [
        {"username": user, "score": value, "recommended_budget": "3,000,000", "opinion": "同意"}
        for user, value in zip(usernames, values, strict=True)
    ]


def test_a_manual_panel_is_recorded_as_its_own_draw(ctx, experts, make_project):
    project_id = make_project()
    own = at(ctx, NOW, project_id=project_id, unit_code=EDU["code"])
    panel = ["expert01", "expert03", "expert05"]
    result = call(
        "aggregate_scores", own, draw_id=None, scores=manual_scores(panel, [80, 70, 90]), panel=panel
    )
    assert result["review_score"] == 80.0 and result["review_passed"] is True and result["score_count"] == 3
    draw = ctx.session.scalar(select(ExpertDraw).where(ExpertDraw.project_id == project_id))
    assert draw.selected == panel and draw.seed == 0 and draw.excluded == [] and draw.review_passed
    assert len(ctx.session.scalars(select(ReviewScore).where(ReviewScore.draw_id == draw.id)).all()) == 3


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        ("expert07", "所在单位为项目建设单位"),  # works for 市教育局
        ("expert12", "担任信息化顾问"),  # advises 市教育局 until 2027-12-31
        ("expert28", "暂停抽取"),
        ("nobody", "不在专家库中"),
    ],
)
def test_a_manual_panel_may_not_include_experts_who_must_avoid(ctx, experts, make_project, member, fragment):
    project_id = make_project()
    own = at(ctx, NOW, project_id=project_id, unit_code=EDU["code"])
    panel = ["expert01", "expert03", member]
    with pytest.raises(HandlerError) as caught:
        call("aggregate_scores", own, draw_id=None, scores=manual_scores(panel, [80, 80, 80]), panel=panel)
    assert caught.value.code == "invalid_scores" and fragment in caught.value.message
    assert ctx.session.scalars(select(ExpertDraw)).all() == []
