"""The one time rule: stored times are UTC, shown times are Beijing time; Chinese date formatting."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

BEIJING = timezone(timedelta(hours=8), "CST")  # China keeps one offset all year


def as_utc(when: datetime) -> datetime:
    """Return a stored or clock time as aware UTC; a naive value is taken to be UTC (SQLite returns those)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def to_local(when: datetime) -> datetime:
    """Return a stored or clock time as aware Beijing time (what every page, export and message shows)."""
    return as_utc(when).astimezone(BEIJING)


def format_local(when: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a stored or clock time in Beijing time, e.g. 2026-11-26 12:18."""
    return to_local(when).strftime(fmt)


# An ISO date-time that names its offset, e.g. 2026-11-26T04:18:28.123456+00:00, 2026-11-26T12:18+08:00 or …Z:
# a time a handler or a form recorded in the process data.
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def format_instant(text: str, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    """Format an ISO date-time text with an offset in Beijing time; None for any other text."""
    if not INSTANT.fullmatch(text):
        return None
    try:
        return format_local(datetime.fromisoformat(text), fmt)
    except ValueError:
        return None


class UTCDateTime(TypeDecorator):
    """A timestamp column that always holds UTC and reads back timezone-aware on every database.

    SQLite keeps no offset: it stores the wall time of whatever value it is given, so a Beijing-time value
    would be read back 8 hours late. Values are therefore converted to UTC before they are written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        """Convert an aware value to UTC before it is stored (naive values are taken to be UTC already)."""
        return as_utc(value) if isinstance(value, datetime) else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        """Return the value as an aware UTC datetime (naive values were stored as UTC)."""
        return as_utc(value) if value is not None else None


def local_now(now: datetime) -> datetime:
    """Return `now` in Beijing time; a naive clock value is taken to be Beijing time already."""
    if now.tzinfo is None:
        return now.replace(tzinfo=BEIJING)
    return now.astimezone(BEIJING)


def local_date(now: datetime) -> date:
    """Return the Beijing calendar date of a clock value."""
    return local_now(now).date()


def parse_date(value: object) -> date | None:
    """Return the Beijing date of an ISO date or datetime text (or object); None if unreadable."""
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return local_date(datetime.fromisoformat(text)) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """Return the same day `months` calendar months later, clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def format_cn_date(day: date) -> str:
    """Return a date in official Chinese form, e.g. 2026年11月25日."""
    return f"{day.year}年{day.month}月{day.day}日"
