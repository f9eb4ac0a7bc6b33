"""Cron expressions: five fields, minute hour day-of-month month day-of-week, evaluated in UTC.

Fields are parsed by Celery's crontab parser, so ranges, steps, lists and
names (``*/15``, ``1-5``, ``mon-fri``, ``jan``) work as in Celery. As in cron,
when both day fields are restricted a day matches either of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from celery.schedules import crontab

from csdp.errors import InvalidInput

CRON_FORM = "five fields 'minute hour day-of-month month day-of-week' in UTC, such as '0 2 * * mon-fri'"
# A cron expression that matches no day in this many days, such as '0 0 31 2 *', is rejected.
SEARCH_DAYS = 4 * 366


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        # crontab numbers weekdays from Sunday = 0, Python from Monday = 0.
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return in_weekdays
        if self.any_weekday:
            return in_days
        return in_days or in_weekdays

    def next_after(self, moment: datetime) -> datetime:
        """Return the first matching minute strictly after ``moment``, in UTC."""
        start = moment.astimezone(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(SEARCH_DAYS):
            if self.day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise InvalidInput(f"cron {self.expression!r} matches no time in the next {SEARCH_DAYS} days; give {CRON_FORM}", field="cron")


def parse_cron(expression: str) -> Cron:
    """Return the parsed expression, or raise InvalidInput naming the field ``cron`` and the expected form."""
    if not isinstance(expression, str):
        raise InvalidInput(f"cron must be a string of {CRON_FORM}, got {expression!r}", field="cron")
    fields = expression.split()
    if len(fields) != 5:
        raise InvalidInput(f"cron {expression!r} has {len(fields)} fields; give {CRON_FORM}", field="cron")
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        parsed = crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week)
        cron = Cron(
            expression=" ".join(fields),
            minutes=tuple(sorted(parsed.minute)),
            hours=tuple(sorted(parsed.hour)),
            days=frozenset(parsed.day_of_month),
            months=frozenset(parsed.month_of_year),
            weekdays=frozenset(parsed.day_of_week),
            any_day=day_of_month == "*",
            any_weekday=day_of_week == "*",
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"cron {expression!r} is invalid ({exc}); give {CRON_FORM}", field="cron") from None
    cron.next_after(datetime.now(timezone.utc))
    return cron
