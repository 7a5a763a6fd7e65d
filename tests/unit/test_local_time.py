"""The one time rule: stored UTC on every database, shown in 六安 local time by Python and by the islands."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select, text

from handlers.localtime import UTCDateTime, format_local, to_local
from service.web.formatting import dt, value_text

ROOT = Path(__file__).resolve().parents[2]
BEIJING = timezone(timedelta(hours=8))
INSTANT = datetime(2026, 11, 26, 4, 18, 28, tzinfo=UTC)


def test_utc_datetime_stores_any_offset_as_utc_and_reads_back_aware(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'times.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "at": INSTANT}, {"id": 2, "at": INSTANT.astimezone(BEIJING)}])
        conn.execute(table.insert(), [{"id": 3, "at": INSTANT.replace(tzinfo=None)}])  # naive means UTC
        stored = conn.execute(text("SELECT at FROM t ORDER BY id")).scalars().all()
        read = conn.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        later = conn.execute(select(table.c.id).where(table.c.at > INSTANT.astimezone(BEIJING))).all()
    engine.dispose()
    assert stored == ["2026-11-26 04:18:28.000000"] * 3
    assert read == [INSTANT] * 3 and all(r.tzinfo is not None and r.utcoffset() == timedelta(0) for r in read)
    assert later == []  # a +08:00 bound compares as the same instant


def test_python_formatting_shows_beijing_time() -> None:
    assert format_local(INSTANT) == "2026-11-26 12:18"
    assert format_local(INSTANT.astimezone(BEIJING)) == "2026-11-26 12:18"
    assert to_local(INSTANT.replace(tzinfo=None)).hour == 12  # SQLite's naive values are UTC
    assert dt(INSTANT) == dt("2026-11-26T04:18:28+00:00") == "2026-11-26 12:18"
    assert dt(None) == "—"


def test_history_values_that_are_times_show_beijing_time() -> None:
    assert value_text("2026-11-26T04:18:28.123456+00:00") == "2026-11-26 12:18"
    assert value_text("2026-11-26T04:18:28Z") == "2026-11-26 12:18"
    assert value_text("2026-11-26T12:18:00+08:00") == "2026-11-26 12:18"
    assert value_text(INSTANT) == "2026-11-26 12:18"
    assert value_text("2026-11-26") == "2026-11-26"  # a date is a calendar day, not an instant
    assert value_text("会议于 2026-11-26T04:18:28+00:00 召开") == "会议于 2026-11-26T04:18:28+00:00 召开"


CASES = {
    "formatDateTime": ("lib/time.js", ["2026-11-26T04:18:28.123456+00:00"], "2026-11-26 12:18:28"),
    "localDate": ("forms/format.js", ["2026-11-25T16:30:00Z"], "2026-11-26"),
    "toLocalInput": ("forms/format.js", ["2026-11-26T04:18:28+00:00"], "2026-11-26T12:18"),
    "fromLocalInput": ("forms/format.js", ["2026-11-26T12:18"], "2026-11-26T12:18:00+08:00"),
    "liveDefault": ("forms/schema.js", [{"x-default": "today", "format": "date-time"}], "T00:00:00+08:00"),
}


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Asia/Shanghai"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_islands_show_and_send_beijing_time_in_any_browser_time_zone(tz: str, name: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module, args, expected = CASES[name]
    script = (
        f"import {{ {name} }} from './frontend/{module}';"
        f"process.stdout.write(String({name}(...{json.dumps(args)})));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT,
        env={"TZ": tz, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.endswith(expected) if name == "liveDefault" else out == expected
