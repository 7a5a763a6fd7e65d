"""Domain tables the handlers own: project register, experts, reviews, approvals, contracts, O&M."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from handlers.localtime import UTCDateTime

# Named constraints keep Alembic autogenerate stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DomainBase(DeclarativeBase):
    """Declarative base of the domain tables, with its own MetaData (tables prefixed `dom_`)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        Decimal: Numeric(14, 2),
        datetime: UTCDateTime,  # stored UTC like the engine's tables, whatever offset the clock has
        date: Date,
        dict: JSON,
        list: JSON,
    }


class ProjectStatus(enum.StrEnum):
    """Where a project is in its lifecycle (register column `status`)."""

    DRAFT = "DRAFT"
    DECLARED = "DECLARED"
    INITIAL_REVIEW = "INITIAL_REVIEW"
    RETURNED = "RETURNED"
    EXPERT_REVIEW = "EXPERT_REVIEW"
    JOINT_REVIEW = "JOINT_REVIEW"
    REVIEWED = "REVIEWED"
    IN_PLAN = "IN_PLAN"
    APPROVED = "APPROVED"
    PROCURING = "PROCURING"
    CONTRACTED = "CONTRACTED"
    BUILDING = "BUILDING"
    CONSTRUCTED = "CONSTRUCTED"
    PRELIM_ACCEPTED = "PRELIM_ACCEPTED"
    TRIAL = "TRIAL"
    ACCEPTED = "ACCEPTED"
    OPERATING = "OPERATING"
    RETIRED = "RETIRED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    TERMINATED = "TERMINATED"


PROJECT_STATUS_LABELS: dict[str, str] = {
    "DRAFT": "草稿",
    "DECLARED": "已申报",
    "INITIAL_REVIEW": "初审中",
    "RETURNED": "退回修改",
    "EXPERT_REVIEW": "专家评审中",
    "JOINT_REVIEW": "部门联审中",
    "REVIEWED": "评审通过",
    "IN_PLAN": "已列入年度计划",
    "APPROVED": "已立项",
    "PROCURING": "采购中",
    "CONTRACTED": "已签订合同",
    "BUILDING": "建设中",
    "CONSTRUCTED": "建设完成",
    "PRELIM_ACCEPTED": "已初验",
    "TRIAL": "试运行",
    "ACCEPTED": "已竣工验收",
    "OPERATING": "运维中",
    "RETIRED": "已停用",
    "REJECTED": "不予立项",
    "WITHDRAWN": "已撤回",
    "TERMINATED": "已终止",
}

# Projects in these statuses no longer count for duplication checks or plans.
CLOSED_STATUSES = frozenset(
    {ProjectStatus.REJECTED, ProjectStatus.WITHDRAWN, ProjectStatus.RETIRED, ProjectStatus.TERMINATED}
)

STAGES: tuple[str, ...] = ("申报", "初审", "立项", "建设", "验收", "运维", "已办结", "已退回")

# Facts the diagrams record on a project that have no column of their own (立项路径, 变更, 绩效 …):
# kept under this key of `Project.declaration`, next to the declaration as submitted.
RECORDED_KEY = "recorded"

PROJECT_TYPES: dict[str, str] = {
    "NEW": "新建",
    "CONTINUE": "续建",
    "UPGRADE": "改扩建",
    "OM": "运维",
    "SERVICE": "购买服务",
    "THIRD_PARTY": "第三方服务（设计/监理/测评/安全）",
}


class Project(DomainBase):
    """One row of the project register (项目库)."""

    __tablename__ = "dom_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), unique=True)  # LA-2026-0001
    plan_year: Mapped[int] = mapped_column(index=True)
    seq: Mapped[int]  # NNNN of the project id; the unique project_id is the guard against races
    name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    project_type: Mapped[str] = mapped_column(String(20))
    planned: Mapped[bool]
    total_estimate: Mapped[Decimal]
    on_egov_extranet: Mapped[bool] = mapped_column(default=False)
    uses_gov_cloud: Mapped[bool] = mapped_column(default=False)
    data_sharing_committed: Mapped[bool] = mapped_column(default=False)
    crypto_required: Mapped[bool] = mapped_column(default=False)
    mlps_level: Mapped[int | None]
    keywords: Mapped[list] = mapped_column(default=list)
    declaration: Mapped[dict] = mapped_column(default=dict)  # the declaration as submitted
    stage: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    instance_id: Mapped[int | None] = mapped_column(index=True)
    duplicate_check: Mapped[dict | None]
    recommended_budget: Mapped[Decimal | None]
    approved_budget: Mapped[Decimal | None]
    approval_doc_no: Mapped[str | None] = mapped_column(String(40))
    last_perf_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    last_perf_grade: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExpertStatus(enum.StrEnum):
    """Whether an expert may be drawn."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


SPECIALTIES: dict[str, str] = {
    "SOFTWARE": "软件开发",
    "NETWORK": "网络与基础设施",
    "SECURITY": "网络安全",
    "CRYPTO": "商用密码",
    "DATA": "数据资源",
    "COST": "造价与财务",
    "DOMAIN": "业务领域",
}


class Expert(DomainBase):
    """An expert of the 专家库; `username` is the login name of the expert's user account."""

    __tablename__ = "dom_expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    employer_code: Mapped[str] = mapped_column(String(18), index=True)
    employer_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(50))
    specialties: Mapped[list] = mapped_column(default=list)
    # [{"code": uscc, "reason": "曾任顾问", "until": "2027-12-31" or None for permanent}]
    avoid_orgs: Mapped[list] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default=ExpertStatus.ACTIVE)
    created_at: Mapped[datetime]


class ExpertDraw(DomainBase):
    """One random draw of an expert panel, with what it excluded and why; later its review result."""

    __tablename__ = "dom_expert_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[int | None]
    seed: Mapped[int] = mapped_column(BigInteger)
    pool_size: Mapped[int]
    candidates: Mapped[list]  # eligible usernames in the order the seed shuffled, so a draw can be re-checked
    specialties: Mapped[list]
    excluded: Mapped[list]  # [{"expert": username, "name": ..., "reason": ...}]
    selected: Mapped[list]  # usernames
    backups: Mapped[list]  # usernames
    drawn_at: Mapped[datetime]
    review_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    review_passed: Mapped[bool | None]
    recommended_budget: Mapped[Decimal | None]
    aggregated_at: Mapped[datetime | None]


class ReviewScore(DomainBase):
    """One expert's score, recommended budget and opinion within a draw's review."""

    __tablename__ = "dom_review_score"
    __table_args__ = (UniqueConstraint("draw_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("dom_expert_draw.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    expert_name: Mapped[str] = mapped_column(String(50))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    recommended_budget: Mapped[Decimal | None]
    opinion: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]


class DocNumber(DomainBase):
    """The 文号 register: one number per issuing authority, year and sequence."""

    __tablename__ = "dom_doc_number"
    __table_args__ = (UniqueConstraint("authority", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority: Mapped[str] = mapped_column(String(30))
    year: Mapped[int]
    seq: Mapped[int]
    doc_no: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime]


class Document(DomainBase):
    """A stored file with its SHA-256 and SM3 digests."""

    __tablename__ = "dom_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(120))
    # Deferred: listings never load file bodies.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(20), index=True)
    instance_id: Mapped[int | None]
    created_at: Mapped[datetime]


class Approval(DomainBase):
    """An issued approval (立项批复 or later change approval) with its 文号 and document."""

    __tablename__ = "dom_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_no: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    authority: Mapped[str] = mapped_column(String(30))
    authority_name: Mapped[str] = mapped_column(String(60))
    approved_budget: Mapped[Decimal]
    issued_at: Mapped[datetime]
    document_id: Mapped[int] = mapped_column(ForeignKey("dom_document.id"))


class Contract(DomainBase):
    """A construction contract with its data 三清单, as checked against the approval."""

    __tablename__ = "dom_contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    vendor_name: Mapped[str] = mapped_column(String(200))
    vendor_code: Mapped[str] = mapped_column(String(18))
    amount: Mapped[Decimal]
    three_lists: Mapped[dict]
    signed_at: Mapped[date]
    checked_ok: Mapped[bool]
    created_at: Mapped[datetime]


class Acceptance(DomainBase):
    """A 竣工验收 record, witnessed by 市公管局."""

    __tablename__ = "dom_acceptance"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str] = mapped_column(String(10), default="FINAL")
    trial_started_at: Mapped[date]
    accepted_at: Mapped[datetime]
    reports: Mapped[list]
    mlps_level: Mapped[int | None]
    crypto_required: Mapped[bool]
    witness: Mapped[dict]
    conclusion: Mapped[str] = mapped_column(String(10))
    passed: Mapped[bool]


class OmFiling(DomainBase):
    """A project's annual O&M filing (运维备案) for one year."""

    __tablename__ = "dom_om_filing"
    __table_args__ = (UniqueConstraint("project_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int]
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(12))  # SUBMITTED / RETURNED / FILED
    filing: Mapped[dict]
    last_perf_grade: Mapped[str | None] = mapped_column(String(10))
    next_year: Mapped[int]
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PerformanceEval(DomainBase):
    """A performance evaluation score and grade of a project for one year."""

    __tablename__ = "dom_performance"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int]
    evaluation_type: Mapped[str] = mapped_column(String(12))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    grade: Mapped[str] = mapped_column(String(10))
    evaluated_at: Mapped[datetime]


class AnnualPlan(DomainBase):
    """A version of the 年度电子政务项目实施计划 with its items; the 文号 comes when the version is issued."""

    __tablename__ = "dom_annual_plan"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    version: Mapped[int]
    items: Mapped[list]
    total: Mapped[Decimal]
    bundled_total: Mapped[Decimal]
    doc_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # set when issued
    status: Mapped[str] = mapped_column(String(12), default="DRAFT")
    created_at: Mapped[datetime]
