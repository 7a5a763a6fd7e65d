"""Beijing-time views of the process clock and Chinese date formatting."""

from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "CST")  # China keeps one offset all year


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
