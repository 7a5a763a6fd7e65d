"""SQLAlchemy models of the engine: people, catalog, instances and their projections."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from handlers.localtime import UTCDateTime  # stored UTC, read back aware; also used by the domain tables


class Base(DeclarativeBase):
    """Declarative base of every engine table."""

    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    SUSPENDED = "suspended"
    ERROR = "error"
    COMPLETE = "complete"
    TERMINATED = "terminated"


ENDED = (InstanceStatus.COMPLETE, InstanceStatus.TERMINATED)  # nothing moves an instance out of these


class TaskStatus(enum.StrEnum):
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RoleScope(enum.StrEnum):
    GLOBAL = "global"  # any holder of the role, whatever their unit
    UNIT = "unit"  # only holders who belong to the instance's unit


# ----------------------------------------------------------------------------- people


class Organisation(Base):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default="unit")  # bureau | unit | government


class Role(Base):
    __tablename__ = "role"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    scope: Mapped[RoleScope] = mapped_column(String(10), default=RoleScope.GLOBAL)


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(256))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an admin gives the password (a new account or a reset): the user must choose their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None]
    organisation: Mapped[Organisation | None] = relationship()
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan")

    @property
    def role_codes(self) -> set[str]:
        """Return the codes of the roles this user holds."""
        return {r.role_code for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code"), primary_key=True)


class LaneRole(Base):
    """A lane name in a diagram maps to a role; admins edit this without touching diagrams."""

    __tablename__ = "lane_role"
    lane: Mapped[str] = mapped_column(String(60), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code"))


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the secret
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


# ----------------------------------------------------------------------------- catalog


class FileBlob(Base):
    """One diagram, decision table or form text, stored once under its content hash."""

    __tablename__ = "file_blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[str] = mapped_column(Text)


class Deployment(Base):
    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str | None] = mapped_column(String(200))
    bundle_hash: Mapped[str] = mapped_column(String(64), index=True)


class ProcessVersion(Base):
    """An immutable version of one process id and the files it was deployed with."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))  # hash over every file the version needs
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    created_at: Mapped[datetime]
    startable: Mapped[bool] = mapped_column(Boolean, default=True)
    start_lane: Mapped[str | None] = mapped_column(
        String(60)
    )  # whose role may start it (the start event's lane)
    called_only: Mapped[bool] = mapped_column(Boolean, default=False)  # only ever called by another process
    files: Mapped[list[VersionFile]] = relationship(order_by="VersionFile.name")


class VersionFile(Base):
    __tablename__ = "version_file"
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    sha256: Mapped[str] = mapped_column(ForeignKey("file_blob.sha256"))


class FormDraft(Base):
    """A form made in the browser that no version holds yet; the deploy that first takes it removes it."""

    __tablename__ = "form_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # the file name diagrams give it
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# ----------------------------------------------------------------------------- runtime


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_wakeup", "status", "next_wakeup_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[InstanceStatus] = mapped_column(String(12), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    initiator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    project_id: Mapped[str | None] = mapped_column(String(40), index=True)
    stage: Mapped[str | None] = mapped_column(String(20), index=True)
    total_estimate: Mapped[float | None]
    plan_year: Mapped[int | None]
    started_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    next_wakeup_at: Mapped[datetime | None]
    waiting_messages: Mapped[list] = mapped_column(JSON, default=list)  # names; rows in message_wait
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    serializer_version: Mapped[str] = mapped_column(String(10))
    # SpiffWorkflow state without its spec. Deferred: list pages never fetch it; only the runtime reads it.
    state_json: Mapped[str] = mapped_column(Text, deferred=True)
    # The instance's current data, kept in step so read paths never deserialise the workflow.
    data_json: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)
    # Completed / active / failed element ids per process id, for the diagram view.
    element_state: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)
    version: Mapped[ProcessVersion] = relationship(lazy="joined")  # every write step needs it
    unit: Mapped[Organisation | None] = relationship()
    initiator: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_task_open_role", "status", "role_code", "unit_id"),
        Index("ix_task_open_assignee", "status", "assignee_id"),
        UniqueConstraint("task_guid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    spec_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(100))  # the (sub)process the task belongs to
    lane: Mapped[str | None] = mapped_column(String(60))
    role_code: Mapped[str | None] = mapped_column(String(40))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    form: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TaskStatus] = mapped_column(String(10))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    draft_json: Mapped[dict | None] = mapped_column(JSON)
    # The data the task saw when it became ready: its form's prefill, without other branches' answers.
    context_json: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    # The loop iteration the task ran in (engine.UserTaskView.round_key); None outside loops.
    round_key: Mapped[str | None] = mapped_column(String(36))
    instance: Mapped[ProcessInstance] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class InstanceEvent(Base):
    """Append-only history of an instance."""

    __tablename__ = "instance_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    spec_id: Mapped[str | None] = mapped_column(String(100))
    task_name: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    user: Mapped[User | None] = relationship()


class Incident(Base):
    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    spec_id: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class MessageWait(Base):
    """An instance waiting for a message; the correlation key is the instance's project id."""

    __tablename__ = "message_wait"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    message: Mapped[str] = mapped_column(String(100), index=True)
    correlation_key: Mapped[str | None] = mapped_column(String(60))


class Schedule(Base):
    """A timer start event: start a new instance of a process whenever it is due."""

    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), unique=True)
    expression: Mapped[str] = mapped_column(String(100))
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Attachment(Base):
    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]
