"""The import framework: files in, documents through the real services, all or nothing.

Each app contributes importers for the data it owns and registers them here at start-up
(`register`, from its AppConfig.ready): accounts the customers, invoicing the invoices,
payments the payments. The framework (this package) knows nothing of invoices or payments, so
accounts never imports from the apps that depend on it.

    parsing   file → rows of text; the number and date rules, decided per column
    base      Field, Row, Record, Importer: what an importer declares and implements
    engine    mapping → row checks → records → (commit) write, with the report and progress
    jobs      ImportJob runs: in the request for a small file, as a django-q2 task for a large one
"""

from collections.abc import Callable
from dataclasses import dataclass

from accounts.imports.base import Field, Importer, Record, Row, RowError  # noqa: F401

REGISTRY: dict = {}


@dataclass(frozen=True)
class ImportOption:
    """An option an app above accounts offers on some kinds' imports, registered from its
    AppConfig.ready (`OPTIONS.append`), so the framework offers it without knowing the app:
    a date field on the mapping page, `"options": {name: "YYYY-MM-DD"}` in the command's mapping
    file. `check(org, value)` returns the value to use (a dry run and the import both call it) or
    raises ValueError with the message; `apply(org, actor, records, value)` runs in the import's
    transaction after the importer wrote `records` (the new ones), and returns a count for the
    report."""
    name: str
    label: str
    help: str
    kinds: tuple[str, ...]
    check: Callable
    apply: Callable


OPTIONS: list[ImportOption] = []


def options_for(kind: str) -> list[ImportOption]:
    return [o for o in OPTIONS if kind in o.kinds]


def register(importer_class):
    """Class decorator: make the importer available by its kind."""
    REGISTRY[importer_class.kind] = importer_class()
    return importer_class


def get_importer(kind: str):
    return REGISTRY[kind]


def kinds() -> list[tuple[str, str]]:
    order = {"customers": 0, "invoices": 1, "credit_notes": 2, "payments": 3, "write_offs": 4, "disputes": 5}
    return sorted(((k, i.label) for k, i in REGISTRY.items()), key=lambda kv: (order.get(kv[0], 9), kv[0]))
