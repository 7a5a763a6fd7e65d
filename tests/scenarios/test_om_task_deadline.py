"""The 年度运维备案 task's 办理期限 is the filing deadline file_om records, each time the task opens."""

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from handlers.localtime import BEIJING, as_utc
from processes.scenarios import prepare_database, run_file
from processes.store.models import HumanTask

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def test_every_opening_of_the_om_filing_task_is_due_at_the_recorded_deadline(db_url: str) -> None:
    """Accepted 2026-12-02: the 2026 filing is due 2027-01-01; the 2027 filing (from 09-01) on 10-31."""
    result = run_file(
        HERE / "om_filing_deadline_and_checks.yaml",
        bpmn_dir=ROOT / "bpmn",
        forms_dir=ROOT / "forms",
        database_url=db_url,
    )
    assert result.ok, result.summary
    engine, sessions = prepare_database(db_url)
    try:
        with sessions() as session:
            due = [
                as_utc(task.due_at)
                for task in session.scalars(
                    select(HumanTask).where(HumanTask.name == "年度运维备案").order_by(HumanTask.id)
                )
            ]
    finally:
        engine.dispose()
    first = datetime(2027, 1, 1, 23, 59, 59, tzinfo=BEIJING)
    second = datetime(2027, 10, 31, 23, 59, 59, tzinfo=BEIJING)
    # Opened at the window, after the check refused the filing, after the review returned it; next year.
    assert due == [first, first, first, second]
