"""How a table file's columns become typed values in DuckDB, and the checks compiled from the one rule table.

Each known column of a file gets a :class:`Column`: the SQL of its typed value (times as microseconds since the
epoch, text, numbers), the SQL flagging values the engine cannot vouch for, and for times read in the log's time
zone a flag that they are wall-clock times (:func:`wall_to_instant_sql` turns them into instants). The rules of
:data:`salesmetrics.log.schemas.RULES` become SQL conditions (:func:`rule_failures_sql`, :func:`column_checks`).
Decision 0045 tells what is read and what is left to validation.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesmetrics._util.limits import YEAR_RANGE
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics._util.timezones import utc_offsets
from salesmetrics.log.config import StageModel
from salesmetrics.log.format import RULES, TableSpec, vocabulary
from salesmetrics.log.sql import blank_sql, ident, outside_sql, strip_sql, values_list

ZONED = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS WITH TIME ZONE", "TIMESTAMPTZ_NS"}


NAIVE = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"}


NANOSECONDS = {"TIMESTAMP_NS", "TIMESTAMPTZ_NS", "TIMESTAMP_NS WITH TIME ZONE"}


INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"}


NUMBERS = INTEGERS | {"FLOAT", "DOUBLE"}


def time_bounds_us() -> tuple[int, int]:
    """The first instant validation accepts and the first it refuses, in microseconds (``limits.YEAR_RANGE``)."""
    from datetime import UTC, datetime, timedelta

    first, last = YEAR_RANGE
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    low = datetime(first, 1, 1, tzinfo=UTC) - epoch
    high = datetime(last + 1, 1, 1, tzinfo=UTC) - epoch
    return low // timedelta(microseconds=1), high // timedelta(microseconds=1)


def _floor_us(ns: str) -> str:
    """SQL: nanoseconds floored to microseconds (pandas floors; DuckDB's cast would round)."""
    return f"(({ns}) - ((({ns}) % 1000) + 1000) % 1000) // 1000"


@dataclass
class Column:
    """How one column of a file becomes a typed value.

    ``sql`` is the value; ``bad`` is SQL true where the file holds something validation would read otherwise or
    refuse (the engine then steps aside); ``naive``, for times, is SQL true where ``sql`` is a wall-clock time of
    the log's time zone rather than an instant (converted once the range of such times is known:
    :func:`wall_to_instant_sql`).
    """

    sql: str
    bad: str | None = None
    naive: str | None = None
    range_in_bad: bool = False  # ``bad`` also refuses times out of range (on the file's own column, a day inside)


def _time_column(name: str, kind: str, text: bool, big: bool) -> Column | None:
    """A time column as microseconds since the epoch (instants, or wall-clock times flagged ``naive``); None when
    its type is one the engine does not read. ``big``: the activities, whose text is parsed once and checked after
    (a cell that does not parse is missing, which the rules refuse)."""
    c = ident(name)
    first, last = YEAR_RANGE  # compared on the column itself, which Parquet statistics answer for most files
    out = f"({c} < CAST('{first:04d}-01-02' AS {kind}) OR {c} >= CAST('{last:04d}-12-31' AS {kind}))"
    if kind in ZONED:
        value = _floor_us(f"epoch_ns({c})") if kind in NANOSECONDS else f"epoch_us({c})"
        return Column(value, bad=out, range_in_bad=True)
    if kind in NAIVE:
        wall = _floor_us(f"epoch_ns({c})") if kind in NANOSECONDS else f"epoch_us({c}::TIMESTAMP)"
        return Column(wall, bad=out, naive="true", range_in_bad=True)
    if kind != "VARCHAR":
        return None  # numbers (spreadsheet serial days) and the rest: validation's parser decides
    s = c if big else strip_sql(c) if text else f"(CASE WHEN {blank_sql(c)} THEN NULL ELSE trim({c}) END)"
    # ISO 8601 (what DuckDB casts): with an offset (Z, +01:00, +0100) an instant, else a wall-clock time
    # Z, +01:00, +0100 or +01 (DuckDB writes the last). A CASE, whose branches DuckDB evaluates only on the rows
    # that reach them: a 'Z' costs a byte test, where indexing characters from the end decodes the whole text
    # (0.15 against 0.67 CPU seconds on 10M times). strlen counts bytes: a text with other than ASCII characters
    # is no ISO time whatever it is flagged.
    aware = (
        f"(CASE WHEN strlen({s}) <= 10 THEN false WHEN ends_with({s}, 'Z') THEN true "
        f"ELSE {s}[-6] IN ('+', '-') OR {s}[-5] IN ('+', '-') OR {s}[-3] IN ('+', '-') END)"
    )
    value = (
        f"CASE WHEN {aware} THEN epoch_us(TRY_CAST({s} AS TIMESTAMPTZ)) ELSE epoch_us(TRY_CAST({s} AS TIMESTAMP)) END"
    )
    bad = None if big else f"({s} IS NOT NULL AND ({value}) IS NULL)"
    return Column(value, bad=bad, naive=f"({s} IS NOT NULL AND NOT {aware})")


def wall_to_instant_sql(wall: str, tz: str, first_us: int, last_us: int) -> tuple[str, str]:
    """``(instant, unclear)``: SQL for the instant of a wall-clock time of zone ``tz`` (microseconds), and SQL true
    where the wall-clock time is skipped or repeated when clocks change (validation shifts or refuses those; the
    engine steps aside). Valid for wall-clock times between ``first_us`` and ``last_us``: the zone's offsets are
    looked up once in Python (:func:`~salesmetrics._util.timezones.utc_offsets`), so each row costs a few integer
    comparisons instead of a time-zone conversion."""
    offsets = utc_offsets(tz, first_us - US_PER_DAY, last_us + US_PER_DAY)
    if len(offsets) == 1:
        return f"({wall} - {offsets[0][1]})", "false"
    cases, unclear = [], []
    previous = offsets[0][1]
    for start, offset in offsets[1:]:
        low, high = start + min(previous, offset), start + max(previous, offset)
        cases.append(f"WHEN {wall} < {low} THEN {previous}")
        unclear.append(f"({wall} >= {low} AND {wall} < {high})")
        previous = offset
    return f"({wall} - CASE {' '.join(cases)} ELSE {previous} END)", "(" + " OR ".join(unclear) + ")"


def _text_column(name: str, kind: str, text: bool, nullable: bool, big: bool) -> Column | None:
    c = ident(name)
    if kind == "VARCHAR" and text and big:
        # activities' text as read: a padded deal id is unknown and a padded outcome or direction is not in its
        # vocabulary (both send the log to validation); kind only has to be there; duplicates are compared trimmed
        return Column(c, bad=None if nullable else blank_sql(c))
    if kind == "VARCHAR" and text:
        return Column(strip_sql(c))
    if kind == "VARCHAR":  # Parquet text is not trimmed; only an empty or space-only value is missing
        if not nullable:  # missing is refused anyway: the value itself serves, the check looks for blanks
            return Column(c, bad=blank_sql(c))
        return Column(f"nullif({c}, '')", bad=f"({c} <> '' AND {blank_sql(c)})")
    if kind in INTEGERS:  # deal ids written as numbers: 12 is '12', as validation reads them
        return Column(f"CAST({c} AS VARCHAR)")
    return None


def _number_column(name: str, kind: str, text: bool) -> Column | None:
    c = ident(name)
    if kind in NUMBERS:
        return Column(f"CAST({c} AS DOUBLE)")
    if kind != "VARCHAR":
        return None
    s = strip_sql(c) if text else f"(CASE WHEN {blank_sql(c)} THEN NULL ELSE trim({c}) END)"
    plain = f"regexp_full_match({s}, '-?[0-9]+(\\.[0-9]+)?')"  # '1,200.50' or '$30': validation's parser decides
    value = f"CASE WHEN {plain} THEN CAST({s} AS DOUBLE) END"
    return Column(value, bad=f"({s} IS NOT NULL AND NOT {plain})")


def typed_columns(spec: TableSpec, types: dict[str, str], text: bool) -> dict[str, Column] | None:
    """How each known column of a file becomes its typed value; None when one is of a type the engine does not
    read (validation then decides). ``text``: the file is CSV, whose text cells validation trims. The activities
    are typed leanly (see :func:`_time_column` and :func:`_text_column`)."""
    big = spec.name == "activities"
    out = {}
    for name in spec.columns:
        if name not in types:
            continue
        kind = types[name]
        if kind == '"NULL"':  # a column of an empty file written without types: no value to read
            out[name] = Column("NULL::BIGINT" if name in spec.timestamps else "NULL::VARCHAR")
            if name in spec.numbers:
                out[name] = Column("NULL::DOUBLE")
            continue
        if name in spec.timestamps:
            column = _time_column(name, kind, text, big)
        elif name in spec.numbers:
            column = _number_column(name, kind, text)
        else:
            column = _text_column(name, kind, text, RULES[spec.name][name].nullable, big)
        if column is None:
            return None
        out[name] = column
    return out


def value_rules_sql(column: str, rule, value: str, model: StageModel, range_checked: bool = False) -> list[str]:
    """SQL conditions true where ``value`` (the SQL of a column's typed value) breaks a value rule of ``rule``: out
    of the years a log may hold, infinite, negative, outside its vocabulary. Whether it may be missing is left to
    the caller (a row condition or, over Parquet, a count answered by the statistics)."""
    low, high = time_bounds_us()
    out = []
    if rule.kind == "time" and not range_checked:
        out.append(f"({value} < {low} OR {value} >= {high})")
    if rule.kind == "number":
        out.append(f"isinf({value})")
    if rule.non_negative:
        out.append(f"{value} < 0")
    if rule.allowed:
        allowed = values_list(vocabulary(rule.allowed, model))
        c = ident(column)
        if value == f"nullif({c}, '')":  # as a filter on the column itself, pushed into a Parquet scan
            out.append(f"({c} NOT IN {allowed} AND {c} <> '')")
        else:
            out.append(outside_sql(value, vocabulary(rule.allowed, model)))
    return out


def rule_failures_sql(table: str, present: set[str], model: StageModel) -> list[str]:
    """SQL conditions, from the rules of :data:`~salesmetrics.log.format.RULES`, true on a row validation refuses.

    Over the typed table ``table`` (text and times typed as in :func:`typed_columns`). A required column absent
    from the file is a failure of its own: the list then holds ``true``. Uniqueness is checked by the caller.
    """
    out = []
    for column, rule in RULES[table].items():
        if column not in present:
            if rule.required:
                out.append("true")
            continue
        if not rule.nullable:
            out.append(f"{ident(column)} IS NULL")
        out += value_rules_sql(column, rule, ident(column), model)
    return out


def column_checks(name: str, columns: dict[str, Column], model: StageModel, wall) -> list[tuple[str, str]]:
    """What makes the engine step aside, one column each, as ``("where", condition)`` (rows to count) or ``("agg",
    aggregate)`` (a count): the rules of :data:`RULES`, the values :class:`Column` flags, local times skipped or
    repeated by a clock change, and a time column mixing wall-clock times and instants. One column each, so that
    over Parquet DuckDB reads only that column, answers missing values from the statistics and pushes each
    condition into the scan."""
    checks = []
    for column_name, rule in RULES[name].items():
        if column_name not in columns:
            if rule.required:
                return [("agg", "1")]
            continue
        column = columns[column_name]
        value = column.sql
        conditions = [column.bad] if column.bad else []
        if column.naive and column.naive != "true":
            checks.append(("agg", f"coalesce(bool_or({column.naive}) AND bool_or(NOT {column.naive}), false)::INT"))
        if column.naive and wall is not None:
            instant, unclear = wall(f"({value})")
            conditions.append(f"({column.naive} AND {unclear})")
            value = instant if column.naive == "true" else f"CASE WHEN {column.naive} THEN {instant} ELSE {value} END"
        if not rule.nullable:
            checks.append(("agg", f"count(*) - count({ident(column_name)})"))  # from Parquet statistics
        conditions += value_rules_sql(column_name, rule, value, model, column.range_in_bad)
        checks += [("where", condition) for condition in conditions]
    return checks


def compare_sql(column: str, text: bool) -> str:
    """SQL for an activity column's value as validation compares rows for exact duplicates: CSV text trimmed,
    Parquet text empty or space-only missing."""
    c = ident(column)
    return strip_sql(c) if text else f"CASE WHEN {blank_sql(c)} THEN NULL ELSE {c} END"
