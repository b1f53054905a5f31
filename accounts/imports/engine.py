"""One run of an import: map columns, check every row, and (when committing) write everything or
nothing.

    report = run(org, importer, table, mapping, options, actor=user, commit=False)   # dry run
    report = run(org, importer, table, mapping, options, actor=user, commit=True)    # the import

mapping: {field name: column name in the file}. options: {"dates": {column: format},
"decimal": {column: "." or ","}} for what the user chose; what is not chosen is decided from the
whole column (parsing.DateColumn / NumberColumn), and undecidable columns are errors.

The file is read twice (streamed): once to decide each date and number column's format, once
to check the rows. A commit runs both passes and the writes in one transaction, so what is
written is exactly what was checked, against the organization as it is at that moment; any
error, a refusal from a service or an interrupted worker rolls all of it back.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import period
from accounts.imports import options_for
from accounts.imports.base import Report, Row, RowError
from accounts.imports.parsing import DateColumn, ImportFileError, NumberColumn, ParseError, parse_date, parse_number
from accounts.models import LedgerHead

FORMULA_START = ("=", "+", "-", "@")


class MappingError(ValueError):
    """The mapping itself is unusable (a required field without a column, an unknown column)."""


def suggest_mapping(importer, headers: list[str], saved: dict | None = None) -> dict:
    """A saved mapping's columns that the file has, else columns named like a field."""
    by_lower = {h.lower(): h for h in headers}
    mapping = {}
    for f in importer.fields:
        if saved and saved.get(f.name) in headers:
            mapping[f.name] = saved[f.name]
            continue
        for name in (f.name, f.label.lower(), *f.aliases):
            if name.lower() in by_lower:
                mapping[f.name] = by_lower[name.lower()]
                break
    return mapping


def check_mapping(importer, headers: list[str], mapping: dict) -> dict:
    mapping = {k: v for k, v in mapping.items() if v}
    known = {f.name for f in importer.fields}
    problems = []
    for name, column in mapping.items():
        if name not in known:
            problems.append(f"{name!r} is not a field of this import.")
        elif column not in headers:
            problems.append(f"The file has no column {column!r}.")
    for f in importer.fields:
        if f.required and f.name not in mapping:
            problems.append(f"Choose the column for {f.label}.")
    if problems:
        raise MappingError(" ".join(problems))
    return mapping


def run(org, importer, table, mapping: dict, options: dict | None = None, *, actor=None, commit: bool = False,
        progress=None) -> Report:
    """Check (and with commit=True write) the file. Returns the report; writes nothing unless the
    report has no errors. Raises ImportFileError / MappingError for a file or mapping that cannot
    be used at all."""
    mapping = check_mapping(importer, table.headers, mapping)
    progress = progress or (lambda phase, done, total: None)
    options = options or {}
    books_start = _books_start_option(options)
    if not commit and books_start is None:
        return _check(org, importer, table, mapping, options, actor, progress)[0]
    if not commit:
        # A dry run that moves the books start: move it in a transaction that is rolled back, so the
        # checks see the period as the import would leave it and nothing stays.
        with transaction.atomic():
            report = _move_books_start(org, books_start, actor, importer)
            if report is None:
                report = _check(org, importer, table, mapping, options, actor, progress)[0]
            transaction.set_rollback(True)
        return report
    with transaction.atomic():
        # The period lock lives on the ledger head row: hold it from the checks to the writes, so a
        # period closed after the dry run is seen by these checks (the whole file is refused), and
        # one cannot close while the import writes.
        LedgerHead.objects.select_for_update().filter(organization=org).first()
        if books_start is not None and (refused := _move_books_start(org, books_start, actor, importer)):
            transaction.set_rollback(True)
            return refused
        report, state, records = _check(org, importer, table, mapping, options, actor, progress)
        chosen = report.chosen_options
        if not report.ok:
            if books_start is not None:
                transaction.set_rollback(True)  # the books start moves only with an import that commits
            return report
        new = [r for r in records if not r.exists]
        written = 0

        def advance(n):
            nonlocal written
            written += n
            progress("write", written, len(new))

        try:
            with transaction.atomic():
                report.written = importer.write(state, new, advance) if new else {}
                for option, value in chosen:
                    report.written[option.name] = option.apply(org, actor, new, value)
        except ValidationError as e:  # a service refused a record the checks let through
            if books_start is not None:
                transaction.set_rollback(True)  # the books start moves only with the import
            report.add_error(RowError(None, "", "", "Nothing was imported: " + " ".join(e.messages)))
            return report
        except IntegrityError:  # another import wrote the same numbers meanwhile
            if books_start is not None:
                transaction.set_rollback(True)
            report.add_error(RowError(None, "", "", "Nothing was imported: records with the same numbers were "
                                                    "written meanwhile (another import?). Run the dry run again."))
            return report
        report.committed = True
        progress("write", len(new), len(new))
    return report


def _books_start_option(options) -> date | None:
    value = options.get("books_start")
    if not value:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as e:
        raise MappingError(f"The books start {value!r} is not a date (YYYY-MM-DD).") from e


def _move_books_start(org, books_start, actor, importer) -> Report | None:
    """History older than the books start: the import moves the books start earlier to
    `books_start` through the period lock's own door (accounts.period.set_books_start: owners only,
    logged, the other owners told once it commits). A later date leaves it as it is. Returns a
    report with the refusal, or None."""
    current = period.state(org)[1]
    if current is not None and books_start >= current:
        return None
    try:
        period.set_books_start(org, books_start, actor=actor,
                               reason=f"Import of {importer.label.lower()} with history from {books_start}")
    except period.PeriodError as e:
        report = Report()
        report.add_error(RowError(None, "", books_start.isoformat(), "Nothing was imported: " + " ".join(e.messages)))
        return report
    return None


def _chosen_options(org, importer, options, report) -> list:
    """The registered options (accounts.imports.OPTIONS) given for this kind, each checked by its
    app: [(option, value)]; a refused value is an error of the whole file."""
    chosen = []
    for option in options_for(importer.kind):
        raw = options.get(option.name)
        if raw in (None, ""):
            continue
        try:
            chosen.append((option, option.check(org, raw)))
        except ValueError as e:
            report.add_error(RowError(None, option.name, str(raw), f"{option.label}: {e}"))
    return chosen


def _check(org, importer, table, mapping, options, actor, progress):
    report = Report()
    report.chosen_options = _chosen_options(org, importer, options, report)  # not a field: not in the saved report
    index = {h: i for i, h in enumerate(table.headers)}
    fields = {f.name: f for f in importer.fields if f.name in mapping}
    columns = _decide_formats(importer, table, mapping, options, fields, report)
    state = importer.begin(org, actor)
    groups: dict = {}
    records = []
    width = len(table.headers)
    for number, cells in table.rows():
        report.rows += 1
        if len(cells) != width:
            report.add_error(RowError(number, "", "", f"The row has {len(cells)} cells; the header has {width}."))
            continue
        row, errors = _parse_row(number, cells, mapping, index, fields, columns)
        for e in errors:
            report.add_error(e)
        if errors:
            continue
        if importer.group_by:
            groups.setdefault(row.values[importer.group_by], []).append(row)
        else:
            _check_record(importer, state, [row], report, records)
        if report.rows % 1000 == 0:
            progress("check", report.rows, 0)
    for rows in groups.values():
        _check_record(importer, state, rows, report, records)
    report.customers_matched = state.get("customers_matched", 0) if isinstance(state, dict) else 0
    if report.rows == 0:
        report.add_error(RowError(None, "", "", "The file has a header but no rows."))
    progress("check", report.rows, report.rows)
    return report, state, records


def _check_record(importer, state, rows, report, records):
    record, errors = importer.check(state, rows)
    for e in errors:
        report.add_error(e)
    if record is not None and not errors:
        report.add_record(record)
        records.append(record)


def _decide_formats(importer, table, mapping, options, fields, report) -> dict:
    """{field name: ("date", fmt) | ("number", sep)} for the mapped date and number columns."""
    deciders = {}
    for name, f in fields.items():
        column = mapping[name]
        if f.type == "date":
            deciders[name] = DateColumn(chosen=(options.get("dates") or {}).get(column) or None)
        elif f.type == "number":
            deciders[name] = NumberColumn(chosen=(options.get("decimal") or {}).get(column) or None)
    if not deciders:
        return {}
    index = {h: i for i, h in enumerate(table.headers)}
    if any(d.chosen is None for d in deciders.values()):
        for _number, cells in table.rows():
            for name, decider in deciders.items():
                at = index[mapping[name]]
                if at < len(cells):
                    decider.see(cells[at])
    decided = {}
    for name, decider in deciders.items():
        value, why = decider.decided()
        column = mapping[name]
        if value is None:
            report.add_error(RowError(None, column, "", f"The column {column!r} {why}."))
            continue
        decided[name] = value
        report.formats[column] = value
    return decided


def _parse_row(number, cells, mapping, index, fields, formats):
    values, raw, errors = {}, {}, []
    for name, f in fields.items():
        column = mapping[name]
        text = cells[index[column]]
        raw[name] = (column, text)
        stripped = text.strip()
        if not stripped:
            values[name] = None
            if f.required:
                errors.append(RowError(number, column, text, f"{f.label} is required."))
            continue
        if stripped.startswith("=") or (stripped[0] in FORMULA_START and f.type in ("text", "code")
                                        and not stripped[1:2].isdigit()):
            errors.append(RowError(number, column, text, "The cell holds a formula or starts with = + - @; "
                                                         "put the value itself in the file."))
            continue
        try:
            values[name] = _convert(f, stripped, formats.get(name))
        except ParseError as e:
            errors.append(RowError(number, column, text, str(e)))
            continue
        if f.max_length and isinstance(values[name], str) and len(values[name]) > f.max_length:
            errors.append(RowError(number, column, text, f"{f.label} is longer than {f.max_length} characters."))
    return Row(number, values, raw), errors


def _convert(f, text, fmt):
    if f.type == "date":
        if fmt is None:
            raise ParseError("The column's date format is not decided (see the column error).")
        return parse_date(text, fmt)
    if f.type == "number":
        if fmt is None:
            raise ParseError("The column's decimal separator is not decided (see the column error).")
        return parse_number(text, fmt)
    if f.type == "int":
        if not text.isdigit():
            raise ParseError(f"{text!r} is not a whole number.")
        return int(text)
    return text


__all__ = ["ImportFileError", "MappingError", "run", "suggest_mapping"]
