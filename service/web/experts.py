"""专家库 pages for process admins: the pool with filters, entering an expert, editing one."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from handlers.models import SPECIALTIES
from processes import expert_pool
from processes.store.models import Organisation
from service import auth
from service.db import get_session

bp = Blueprint("web_experts", __name__, url_prefix="/admin/experts")


@bp.before_request
def _admins_only() -> None:
    """Every page here is for process admins."""
    auth.require_admin()


@bp.route("")
def pool() -> str:
    """The pool with how often each expert was drawn, and a form to enter one."""
    q = request.args.get("q", "").strip() or None
    specialty = request.args.get("specialty") if request.args.get("specialty") in SPECIALTIES else None
    status = request.args.get("status") if request.args.get("status") in expert_pool.STATUS_LABELS else None
    return render_template(
        "admin/experts.html",
        section="users",
        entries=expert_pool.list_experts(get_session(), q, specialty, status),
        args=request.args,
        specialties=SPECIALTIES,
        statuses=expert_pool.STATUS_LABELS,
    )


@bp.route("/<int:expert_id>")
def expert(expert_id: int) -> str:
    """One expert: details, specialties, status and declared conflicts of interest."""
    session = get_session()
    found = expert_pool.get_expert(session, expert_id)
    codes = {found.employer_code, *(tie.get("code") for tie in found.avoid_orgs or [])}
    names = dict(session.execute(select(Organisation.code, Organisation.short_name)).all())
    return render_template(
        "admin/expert.html",
        section="users",
        expert=found,
        specialties=SPECIALTIES,
        statuses=expert_pool.STATUS_LABELS,
        org_names={code: names[code] for code in codes if code in names},
        organisations=sorted(names.items(), key=lambda kv: kv[1]),
        saved=request.args.get("saved") == "1",
    )
