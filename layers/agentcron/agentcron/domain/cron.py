"""agentcron's cron dialect: parse an expression once, then find its wall-clock slots. Pure: no I/O, no clock.

Interface::

    parse_cron(expr: str) -> CronExpr           # raises CronError (a ValueError) naming the field and token
    validate_cron(expr: str) -> str | None      # None when valid, else the reason (the CronError message)
    CronExpr.expr: str                          # canonical text (whitespace collapsed, names upper-cased)
    CronExpr.every_instant: bool                # the hour field is a wildcard or a step
    CronExpr.next_after(naive) -> datetime | None
    CronExpr.iter_after(naive, until=None) -> Iterator[datetime]
    CronExpr.matches(naive) -> bool

Everything is naive wall-clock time with whole seconds; mapping a slot to real instants (DST gaps and repeats)
is the trigger engine's job. ``docs/cron.md`` is the reference for the dialect; in short:

- 5 fields ``m h dom mon dow``; 6 fields seconds first ``s m h dom mon dow``; 7 fields seconds first with a
  trailing year; the macros ``@hourly @daily @midnight @weekly @monthly @yearly @annually``.
- Day-of-month and day-of-week combine with the Vixie OR: when both fields are restricted (neither is
  exactly ``*`` or ``?``) a day matches if it matches either; when one is ``*``/``?`` only the other applies.
  ``L``, ``W`` and ``#`` items belong to their field like any other item (``15W`` is a day-of-month item,
  ``3#3`` a day-of-week item), so the rule applies to them unchanged.
- Refused with a 400-worthy message: hashed or random values (``H``, ``R``), reversed ranges (``5-1``,
  except a day-of-week range ending on Sunday written ``0``: ``5-0`` is Friday to Sunday), steps larger
  than the field's number of values (``*/61``; ``*/60`` is accepted and fires at 0 only, as in Vixie
  cron), steps on ``L-n``/``nW``/``dL``/``#`` items, ``L`` alone in the day-of-week field, and an expression
  that can never fire (``0 0 30 2 *``). A step on ``L`` or ``LW`` (``L/2``, ``LW/2``) is the last day (last
  weekday) alone, as in cronsim: a step runs from its start to the field's end, and the month ends there.

The search never scans a fixed horizon: a month's matching days depend only on its length and the weekday
of its first day (28 shapes, tabulated at parse time), and whether a year can fire depends only on its
place in the 400-year Gregorian cycle (tabulated too). ``next_after`` is therefore a few table look-ups
and bisections, however far away the next slot is; ``None`` means the expression never fires again
(a year field whose years are all past, or the end of ``datetime``'s range, year 9999).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from calendar import isleap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

__all__ = [
    "MACROS",
    "MAX_LENGTH",
    "YEAR_MAX",
    "YEAR_MIN",
    "CronError",
    "CronExpr",
    "parse_cron",
    "validate_cron",
]

MACROS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""The macros and the 5-field expressions they stand for (matched case-insensitively)."""

YEAR_MIN = 1970
YEAR_MAX = 9999
"""The values the year field accepts; ``*`` in it (or no year field) means every year ``datetime`` holds."""

MAX_LENGTH = 1000
"""Longer expressions are refused before parsing."""

_ONE_SECOND = timedelta(seconds=1)
_MAX_ORDINAL = date.max.toordinal()
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CYCLE = 400  # the Gregorian calendar repeats every 400 years (146097 days, a whole number of weeks)


class CronError(ValueError):
    """An expression agentcron refuses. The message names the field and the offending token."""


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class _Spec:
    """One cron field's range and step rules."""

    name: str
    low: int
    high: int
    step_top: int  # where ``*/s`` and ``N/s`` stop
    step_max: int | None  # the largest step: the number of distinct values (None: no limit)
    carry: str  # the unit a step cannot carry over into
    names: dict[str, int] = field(default_factory=dict)


def _names(words: str, first: int) -> dict[str, int]:
    """Full names and their 3-letter abbreviations, upper case, numbered from ``first``."""
    table: dict[str, int] = {}
    for number, word in enumerate(words.split(), start=first):
        table[word] = table[word[:3]] = number
    return table


_SECOND = _Spec("second", 0, 59, 59, 60, "minute")
_MINUTE = _Spec("minute", 0, 59, 59, 60, "hour")
_HOUR = _Spec("hour", 0, 23, 23, 24, "day")
_DOM = _Spec("day-of-month", 1, 31, 31, 31, "month")
_MONTH = _Spec(
    "month", 1, 12, 12, 12, "year",
    _names("JANUARY FEBRUARY MARCH APRIL MAY JUNE JULY AUGUST SEPTEMBER OCTOBER NOVEMBER DECEMBER", 1),
)
_DOW = _Spec(
    "day-of-week", 0, 7, 6, 7, "week", _names("SUNDAY MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY", 0)
)
_YEAR = _Spec("year", YEAR_MIN, YEAR_MAX, YEAR_MAX, None, "")


def _q(token: str) -> str:
    """A token quoted for a message, cut short when long."""
    return repr(token if len(token) <= 40 else token[:37] + "...")


def _fail(spec: _Spec, message: str) -> CronError:
    return CronError(f"{spec.name} field: {message}")


def _int(digits: str) -> int:
    """ASCII digits as a number; an absurdly long one as a million (out of every field's range)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 6 else 10**6


def _value(spec: _Spec, text: str, item: str) -> int:
    """One number or name of ``spec``'s field, range-checked."""
    where = f" in {_q(item)}" if text != item else ""
    if not text:
        raise _fail(spec, f"a value is missing in {_q(item)}")
    if text.isascii() and text.isdigit():
        number = _int(text)
        if not spec.low <= number <= spec.high:
            raise _fail(spec, f"{text} is out of range {spec.low}-{spec.high}{where}")
        return number
    if spec.names:
        if text.isascii() and text.isalpha():
            number = spec.names.get(text.upper())
            if number is None:
                raise _fail(spec, f"unknown name {_q(text)}{where}")
            return number
        raise _fail(spec, f"{_q(text)} is neither a number nor a name{where}")
    raise _fail(spec, f"{_q(text)} is not a number{where}")


def _step(spec: _Spec, text: str, item: str) -> int:
    if not text:
        raise _fail(spec, f"'/' must be followed by a step in {_q(item)}")
    if not (text.isascii() and text.isdigit()):
        raise _fail(spec, f"step {_q(text)} in {_q(item)} is not a number")
    step = _int(text)
    if step < 1:
        raise _fail(spec, f"step {step} in {_q(item)} must be at least 1")
    if spec.step_max is not None and step > spec.step_max:
        raise _fail(
            spec,
            f"step {step} in {_q(item)} is larger than the field's {spec.step_max} values: "
            f"a step cannot carry over into the next {spec.carry}",
        )
    return step


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def _plain(spec: _Spec, item: str) -> range:
    """``*``, ``N``, ``A-B``, each with an optional ``/step`` (``N/step`` runs from N to the field's end)."""
    base, slash, step_text = item.partition("/")
    if "/" in step_text:
        raise _fail(spec, f"more than one '/' in {_q(item)}")
    step = _step(spec, step_text, item) if slash else 1
    if base == "*":
        return range(spec.low, spec.step_top + 1, step)
    if not base:
        raise _fail(spec, f"nothing before '/' in {_q(item)}")
    if "-" in base:
        first, _, last = base.partition("-")
        if "-" in last:
            raise _fail(spec, f"malformed range {_q(item)}")
        low, high = _value(spec, first, item), _value(spec, last, item)
        if spec is _DOW and high == 0 and low > 0:
            high = 7  # mon-sun, 5-0: a week that ends on Sunday
        if low > high:
            hint = ""
            if spec is not _YEAR:
                hint = f"; write it as {_q(f'{_span(low, spec.step_top)},{_span(spec.low, high)}')}"
            numbers = f" ({low}-{high})" if base != f"{low}-{high}" else ""
            raise _fail(spec, f"reversed range {_q(base)}{numbers}: ranges do not wrap around{hint}")
        return range(low, high + 1, step)
    low = _value(spec, base, item)
    if not slash:
        return range(low, low + 1)
    return range(low, max(low, spec.step_top) + 1, step)


_DAY_SPECIAL = re.compile(r"L(?:-[0-9]+)?W?|[0-9]+W|[0-9]*L[0-9]*")  # L, LW, L-n, nW, nL, Ln


def _check_item(spec: _Spec, item: str, text: str) -> str:
    """Refusals common to every field; the item upper-cased."""
    if not item:
        raise _fail(spec, f"empty item in {_q(text)}")
    upper = item.upper()
    if upper[0] in "HR":
        raise _fail(spec, f"hashed or random values (H, R) are not supported: {_q(item)}")
    if "?" in item:
        if spec is _DOM or spec is _DOW:
            raise _fail(spec, f"'?' must stand alone in the field, not in {_q(text)}")
        raise _fail(
            spec,
            f"a question mark '?' is only allowed in the day-of-month and day-of-week fields: {_q(text)}",
        )
    if "#" in item and spec is not _DOW:
        raise _fail(spec, f"'#' is only allowed in the day-of-week field: {_q(item)}")
    if not spec.names and spec is not _DOM and _DAY_SPECIAL.fullmatch(upper.partition("/")[0]):
        raise _fail(spec, f"'L' and 'W' are only allowed in the day fields: {_q(item)}")
    return upper


def _numbers(spec: _Spec, text: str) -> tuple[int, ...]:
    """A field without specials (second, minute, hour, month) as the sorted values it matches."""
    values: set[int] = set()
    for item in text.split(","):
        _check_item(spec, item, text)
        values.update(_plain(spec, item))
    return tuple(sorted(values))


def _years(text: str) -> tuple[int, ...] | None:
    """The year field's values, or None for every year (a bare ``*`` item)."""
    values: set[int] = set()
    for item in text.split(","):
        _check_item(_YEAR, item, text)
        if item == "*":
            return None
        values.update(_plain(_YEAR, item))
    return tuple(sorted(values))


# --------------------------------------------------------------------------- day fields


def _nearest_weekday(day: int, length: int, first: int) -> int:
    """Quartz's ``W``: the weekday nearest ``day`` inside the month (``first``: the weekday of the 1st)."""
    weekday = (first + day - 1) % 7
    if weekday == 6:  # Saturday: the Friday before, or the Monday after when that Friday is last month
        return day - 1 if day > 1 else day + 2
    if weekday == 0:  # Sunday: the Monday after, or the Friday before when that Monday is next month
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True)
class _DomItems:
    """A day-of-month field's items, by kind."""

    plain: frozenset[int]
    last: tuple[int, ...]  # L-n: n days before the last day (L is L-0)
    last_weekday: tuple[int, ...]  # L-nW: the weekday nearest L-n (LW is L-0W)
    nearest: tuple[int, ...]  # nW: the weekday nearest day n
    to_last: tuple[tuple[int, int], ...]  # n-L/step: from day n to the last day

    def days(self, length: int, first: int) -> set[int]:
        out = {day for day in self.plain if day <= length}
        out.update(length - n for n in self.last if length - n >= 1)
        out.update(_nearest_weekday(length - n, length, first) for n in self.last_weekday if length - n >= 1)
        out.update(_nearest_weekday(n, length, first) for n in self.nearest if n <= length)
        for start, step in self.to_last:
            out.update(range(start, length + 1, step))
        return out


@dataclass(frozen=True)
class _DowItems:
    """A day-of-week field's items, by kind."""

    plain: frozenset[int]  # 0 (Sunday) to 6
    nth: frozenset[tuple[int, int]]  # d#k: the k-th weekday d of the month
    last: frozenset[int]  # dL: the last weekday d of the month

    def days(self, length: int, first: int) -> set[int]:
        out: set[int] = set()
        for day in range(1, length + 1):
            weekday = (first + day - 1) % 7
            if (
                weekday in self.plain
                or (weekday, (day + 6) // 7) in self.nth
                or (weekday in self.last and day + 7 > length)
            ):
                out.add(day)
        return out


_DOM_LAST = re.compile(r"L(?:-([0-9]+))?(W?)")
# A step on L or LW (``L/2``, ``LW/2``): cronsim's meaning, and what our own ``a/s`` rule gives (from ``a`` to
# the field's end, and nothing lies after the last day): the last day, or last weekday, alone.
_DOM_LAST_STEP = re.compile(r"(LW?)/(.*)")
_DOM_NEAREST = re.compile(r"([0-9]+)W")
_DOM_TO_LAST = re.compile(r"([0-9]+)-L(?:/(.*))?")
_DOM_SPECIAL_BASE = re.compile(r"L.*|.*W")


def _dom_items(text: str) -> _DomItems:
    plain: set[int] = set()
    last: list[int] = []
    last_weekday: list[int] = []
    nearest: list[int] = []
    to_last: list[tuple[int, int]] = []
    for item in text.split(","):
        upper = _check_item(_DOM, item, text)
        if match := _DOM_LAST.fullmatch(upper):
            offset = 0 if match[1] is None else _int(match[1])
            if offset > 30:
                raise _fail(_DOM, f"offset {match[1]} in {_q(item)} must be 0-30")
            (last_weekday if match[2] else last).append(offset)
        elif match := _DOM_LAST_STEP.fullmatch(upper):
            _step(_DOM, item.partition("/")[2], item)  # checked as any step is (1-31); it changes nothing
            (last_weekday if match[1] == "LW" else last).append(0)
        elif match := _DOM_NEAREST.fullmatch(upper):
            nearest.append(_value(_DOM, match[1], item))
        elif match := _DOM_TO_LAST.fullmatch(upper):
            start = _value(_DOM, match[1], item)
            step = _step(_DOM, match[2], item) if match[2] is not None else 1
            to_last.append((start, step))
        elif "/" in upper and _DOM_SPECIAL_BASE.fullmatch(upper.partition("/")[0]):
            raise _fail(_DOM, f"a step cannot apply to {_q(item.partition('/')[0])} in {_q(item)}")
        elif "L" in upper or "W" in upper:
            raise _fail(
                _DOM,
                f"{_q(item)} is not a day-of-month item: expected a day 1-31, a range, a step, "
                "or one of L, L-n, LW, L-nW, nW, n-L",
            )
        else:
            plain.update(_plain(_DOM, item))
    return _DomItems(frozenset(plain), tuple(last), tuple(last_weekday), tuple(nearest), tuple(to_last))


def _weekday(text: str, item: str) -> int:
    """A single weekday (number 0-7 or name) of a ``#`` or ``L`` item, Sunday as 0."""
    if "-" in text:
        raise _fail(_DOW, f"{_q(item)} needs a single weekday, not a range")
    return _value(_DOW, text, item) % 7


def _dow_items(text: str) -> _DowItems:
    plain: set[int] = set()
    nth: set[tuple[int, int]] = set()
    last: set[int] = set()
    for item in text.split(","):
        upper = _check_item(_DOW, item, text)
        if "#" in upper:
            if "/" in upper:
                raise _fail(_DOW, f"a step cannot apply to a '#' item: {_q(item)}")
            day, _, occurrence = item.partition("#")
            weekday = _weekday(day, item)
            if not (occurrence.isascii() and occurrence.isdigit()):
                raise _fail(_DOW, f"'#' must be followed by an occurrence 1-5 in {_q(item)}")
            if not 1 <= _int(occurrence) <= 5:
                raise _fail(_DOW, f"occurrence {occurrence} in {_q(item)} must be 1-5")
            nth.add((weekday, _int(occurrence)))
        elif upper == "L":
            raise _fail(
                _DOW,
                f"'L' alone is ambiguous in {_q(text)}: write '5L' (or 'FRIL') for the last Friday of the "
                "month, or put L in the day-of-month field for the last day of the month",
            )
        elif "L" in upper:
            if "/" in upper:
                raise _fail(_DOW, f"a step cannot apply to an 'L' item: {_q(item)}")
            if upper.endswith("L"):
                last.add(_weekday(item[:-1], item))
            elif upper.startswith("L"):
                last.add(_weekday(item[1:], item))
            else:
                raise _fail(_DOW, f"{_q(item)} is not a weekday: 'L' goes before or after one weekday")
        else:
            plain.update(day % 7 for day in _plain(_DOW, item))
    return _DowItems(frozenset(plain), frozenset(nth), frozenset(last))


def _shape(year: int, month: int) -> tuple[int, int]:
    """A month's length and the weekday of its first day (0 = Sunday): all a day field looks at."""
    length = 29 if month == 2 and isleap(year) else _MONTH_DAYS[month]
    return length, (date(year, month, 1).weekday() + 1) % 7


# --------------------------------------------------------------------------- the parsed expression


@dataclass(frozen=True, slots=True)
class CronExpr:
    """A parsed cron expression. Build it with ``parse_cron``; equal when their canonical texts are equal.

    ``expr`` is the canonical text: fields separated by one space and upper-cased (``0 9 * * MON-FRI``),
    a macro in lower case (``@daily``). ``every_instant`` is True when the hour field is a wildcard or a
    step (``*``, ``*/2``, ``0-23/3``; every macro but ``@hourly`` has a fixed hour): the engine fires such
    a cron on every real instant whose local time matches, through DST changes.
    """

    expr: str
    every_instant: bool
    _seconds: tuple[int, ...] = field(repr=False, compare=False)
    _minutes: tuple[int, ...] = field(repr=False, compare=False)
    _hours: tuple[int, ...] = field(repr=False, compare=False)
    _months: tuple[int, ...] = field(repr=False, compare=False)
    _days: dict[tuple[int, int], tuple[int, ...]] = field(repr=False, compare=False)
    _offsets: tuple[int, ...] | None = field(repr=False, compare=False)  # no year field: wait by y % 400
    _years: tuple[int, ...] | None = field(repr=False, compare=False)  # a year field: its firing years

    def next_after(self, naive: datetime) -> datetime | None:
        """The first wall-clock slot strictly after ``naive``, or None when the expression never fires again.

        ``naive`` is a naive datetime (any microseconds); the answer is naive with whole seconds.
        """
        if not isinstance(naive, datetime):
            raise TypeError(f"next_after takes a datetime, got {type(naive).__name__}")
        if naive.tzinfo is not None:
            raise ValueError("next_after takes a naive wall-clock datetime, got an aware one")
        try:
            start = naive.replace(microsecond=0) + _ONE_SECOND
        except OverflowError:
            return None
        return self._at_or_after(start)

    def iter_after(self, naive: datetime, until: datetime | None = None) -> Iterator[datetime]:
        """Successive slots strictly after ``naive`` (and up to ``until`` inclusive, when given)."""
        slot = self.next_after(naive)
        while slot is not None and (until is None or slot <= until):
            yield slot
            slot = self.next_after(slot)

    @property
    def minute_resolution(self) -> bool:
        """True for a 5-field expression or a macro: it names minutes (its seconds field is just 0)."""
        return self.expr.startswith("@") or len(self.expr.split()) == 5

    @property
    def whole_days(self) -> bool:
        """True when every time of a matching day matches (``* * 25 12 *``): the day is covered whole."""
        seconds = 1 if self.minute_resolution else 60
        return len(self._hours) == 24 and len(self._minutes) == 60 and len(self._seconds) == seconds

    def matches(self, naive: datetime) -> bool:
        """Whether ``naive`` (whole seconds) is one of the expression's slots."""
        if naive.tzinfo is not None:
            raise ValueError("matches takes a naive wall-clock datetime, got an aware one")
        return (
            naive.microsecond == 0
            and self._year_at_or_after(naive.year) == naive.year
            and _has(self._months, naive.month)
            and _has(self._days[_shape(naive.year, naive.month)], naive.day)
            and _has(self._hours, naive.hour)
            and _has(self._minutes, naive.minute)
            and _has(self._seconds, naive.second)
        )

    # ------------------------------------------------------------------ search

    def _year_at_or_after(self, year: int) -> int | None:
        if self._years is None:
            assert self._offsets is not None
            found = year + self._offsets[year % _CYCLE]
            return found if found <= date.max.year else None
        index = bisect_left(self._years, year)
        return self._years[index] if index < len(self._years) else None

    def _day_at_or_after(self, year: int, month: int, day: int) -> tuple[int, int, int] | None:
        while True:
            found = self._year_at_or_after(year)
            if found is None:
                return None
            if found != year:
                year, month, day = found, 1, 1
            months = self._months
            for index in range(bisect_left(months, month), len(months)):
                candidate = months[index]
                days = self._days[_shape(year, candidate)]
                at = bisect_left(days, day if candidate == month else 1)
                if at < len(days):
                    return year, candidate, days[at]
            if year >= date.max.year:
                return None
            year, month, day = year + 1, 1, 1  # a firing year always has a slot; at most one more turn

    def _time_at_or_after(self, hour: int, minute: int, second: int) -> tuple[int, int, int] | None:
        hours, minutes, seconds = self._hours, self._minutes, self._seconds
        h = bisect_left(hours, hour)
        if h < len(hours) and hours[h] == hour:
            m = bisect_left(minutes, minute)
            if m < len(minutes) and minutes[m] == minute:
                s = bisect_left(seconds, second)
                if s < len(seconds):
                    return hour, minute, seconds[s]
                m += 1
            if m < len(minutes):
                return hour, minutes[m], seconds[0]
            h += 1
        if h < len(hours):
            return hours[h], minutes[0], seconds[0]
        return None

    def _at_or_after(self, start: datetime) -> datetime | None:
        year, month, day = start.year, start.month, start.day
        hour, minute, second = start.hour, start.minute, start.second
        while True:
            found = self._day_at_or_after(year, month, day)
            if found is None:
                return None
            if found != (year, month, day):
                return datetime(*found, self._hours[0], self._minutes[0], self._seconds[0])
            time_of_day = self._time_at_or_after(hour, minute, second)
            if time_of_day is not None:
                return datetime(year, month, day, *time_of_day)
            ordinal = date(year, month, day).toordinal() + 1  # no slot left today: from tomorrow on
            if ordinal > _MAX_ORDINAL:
                return None
            tomorrow = date.fromordinal(ordinal)
            year, month, day, hour, minute, second = tomorrow.year, tomorrow.month, tomorrow.day, 0, 0, 0


def _has(values: tuple[int, ...], value: int) -> bool:
    index = bisect_left(values, value)
    return index < len(values) and values[index] == value


# --------------------------------------------------------------------------- building


def _never_fires(dom: str, month: str, dow: str, years: tuple[int, ...] | None) -> CronError:
    if years is None and dow in ("*", "?"):
        return CronError(
            f"the expression can never fire: day-of-month {_q(dom)} never occurs in month {_q(month)}"
        )
    where = "in the years of the year field " if years is not None else ""
    return CronError(
        f"the expression can never fire: no date {where}matches the day-of-month, month and day-of-week "
        "fields together"
    )


def _build(expr: str) -> CronExpr:
    if not isinstance(expr, str):
        raise CronError(f"the expression must be a string, got {type(expr).__name__}")
    if len(expr) > MAX_LENGTH:
        raise CronError(f"the expression is too long: {len(expr)} characters, at most {MAX_LENGTH}")
    fields = expr.split()  # any Unicode whitespace separates fields
    if not fields:
        raise CronError("the expression is empty")
    if fields[0].startswith("@"):
        canonical = " ".join(fields).lower()
        if canonical not in MACROS:
            raise CronError(f"unknown macro {_q(' '.join(fields))}, expected one of {', '.join(MACROS)}")
        fields = MACROS[canonical].split()
    elif len(fields) not in (5, 6, 7):
        raise CronError(f"expected 5, 6 or 7 fields (or a macro such as @daily), got {len(fields)}")
    else:
        canonical = " ".join(field.upper() for field in fields)
    if len(fields) == 5:
        fields.insert(0, "0")
    second, minute, hour, dom, month, dow, *rest = fields
    year = rest[0] if rest else "*"

    seconds = _numbers(_SECOND, second)
    minutes = _numbers(_MINUTE, minute)
    hours = _numbers(_HOUR, hour)
    dom_items = None if dom in ("*", "?") else _dom_items(dom)
    months = _numbers(_MONTH, month)
    dow_items = None if dow in ("*", "?") else _dow_items(dow)
    years = _years(year)

    days: dict[tuple[int, int], tuple[int, ...]] = {}
    for length in (28, 29, 30, 31):
        for first in range(7):
            if dom_items is None and dow_items is None:
                matching = set(range(1, length + 1))
            else:
                matching = set()
                if dom_items is not None:
                    matching |= dom_items.days(length, first)
                if dow_items is not None:
                    matching |= dow_items.days(length, first)
            days[(length, first)] = tuple(sorted(matching))

    # Whether a year has a slot depends on its leap-ness and the weekday of 1 January only.
    by_kind: dict[tuple[bool, int], bool] = {}
    fires = []
    for offset in range(_CYCLE):
        sample = 2000 + offset
        kind = (isleap(sample), date(sample, 1, 1).weekday())
        if kind not in by_kind:
            by_kind[kind] = any(days[_shape(sample, m)] for m in months)
        fires.append(by_kind[kind])

    offsets: tuple[int, ...] | None = None
    firing_years: tuple[int, ...] | None = None
    if years is None:
        if not any(fires):
            raise _never_fires(dom, month, dow, None)
        ahead = [0] * _CYCLE
        upcoming = 0
        for index in range(2 * _CYCLE - 1, -1, -1):
            if fires[index % _CYCLE]:
                upcoming = index
            if index < _CYCLE:
                ahead[index] = upcoming - index
        offsets = tuple(ahead)
    else:
        firing_years = tuple(y for y in years if fires[y % _CYCLE])
        if not firing_years:
            raise _never_fires(dom, month, dow, years)

    return CronExpr(
        expr=canonical,
        every_instant="*" in hour or "/" in hour,
        _seconds=seconds,
        _minutes=minutes,
        _hours=hours,
        _months=months,
        _days=days,
        _offsets=offsets,
        _years=firing_years,
    )


@lru_cache(maxsize=4096)
def _compile(expr: str) -> CronExpr | str:
    """The parsed expression or the reason it is refused; cached, as models validate on every load."""
    try:
        return _build(expr)
    except CronError as exc:
        return str(exc)


def parse_cron(expr: str) -> CronExpr:
    """The parsed expression; raises ``CronError`` (a ``ValueError``) naming the field and token at fault."""
    if not isinstance(expr, str):
        raise CronError(f"the expression must be a string, got {type(expr).__name__}")
    parsed = _compile(expr)
    if isinstance(parsed, str):
        raise CronError(parsed)
    return parsed


def validate_cron(expr: str) -> str | None:
    """None when ``expr`` is a cron expression agentcron accepts, else the reason why not."""
    try:
        parse_cron(expr)
    except CronError as exc:
        return str(exc)
    return None
