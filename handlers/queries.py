"""Look-ups of domain records shared by several handlers."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.models import RECORDED_KEY, PerformanceEval, Project


class ProjectNotFound(LookupError):
    """No register row has this project id: a wiring fault of the diagram, so an incident."""


def load_project(session: Session, project_id: str) -> Project:
    """Return the register row of `project_id` or raise ProjectNotFound."""
    project = session.scalar(select(Project).where(Project.project_id == project_id))
    if project is None:
        raise ProjectNotFound(f"项目库中没有编号为 {project_id} 的项目")
    return project


def latest_performance(
    session: Session, project_id: str, before_year: int | None = None
) -> PerformanceEval | None:
    """Return the newest performance evaluation of a project (optionally of a year before `before_year`)."""
    stmt = select(PerformanceEval).where(PerformanceEval.project_id == project_id)
    if before_year is not None:
        stmt = stmt.where(PerformanceEval.year < before_year)
    stmt = stmt.order_by(PerformanceEval.year.desc(), PerformanceEval.id.desc()).limit(1)
    return session.scalar(stmt)


def recorded_facts(project: Project) -> dict:
    """Return the facts diagrams recorded on a project through update_project (approval_route, …)."""
    return dict((project.declaration or {}).get(RECORDED_KEY) or {})
