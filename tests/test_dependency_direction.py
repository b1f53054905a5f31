"""Dependencies point one way: accounts ← invoicing ← {payments, reminders, reports}; ledger_site
wires them (docs/architecture.md). Reads every import of the apps' code (ast, also imports
inside functions; migrations aside) and fails on an arrow that runs the wrong way.

An app may import the apps below it and ledger_site's infrastructure modules (tenancy, pg, queue,
navigation, database, exports, api_support, checks, listing, sorting, outbox, mailer); ledger_site's wiring
(urls, settings, wsgi) may import anything.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each app may import (besides itself).
ALLOWED = {
    "accounts": set(),
    "invoicing": {"accounts"},
    "payments": {"accounts", "invoicing"},
    "reminders": {"accounts", "invoicing"},
    "reports": {"accounts", "invoicing"},
}
APPS = set(ALLOWED)
LEDGER_SITE_INFRASTRUCTURE = {"ledger_site", "ledger_site.tenancy", "ledger_site.pg", "ledger_site.queue",
                              "ledger_site.navigation", "ledger_site.database", "ledger_site.exports",
                              "ledger_site.api_support", "ledger_site.checks", "ledger_site.listing",
                              "ledger_site.sorting", "ledger_site.outbox", "ledger_site.mailer"}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ledger_site":  # "from ledger_site import queue": the submodules
                yield from ((f"ledger_site.{a.name}", node.lineno) for a in node.names)
            else:
                yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)


def wrong_way_arrows(root: Path) -> list[str]:
    found = []
    for app, allowed in ALLOWED.items():
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            for module, line in imported_modules(path):
                top = module.split(".")[0]
                if top in APPS and top != app and top not in allowed:
                    found.append(f"{path.relative_to(root)}:{line} imports {module} ({app} → {top})")
                elif top == "ledger_site" and module not in LEDGER_SITE_INFRASTRUCTURE:
                    found.append(f"{path.relative_to(root)}:{line} imports {module} (wiring, not infrastructure)")
    return found


def test_no_import_runs_the_wrong_way():
    assert wrong_way_arrows(ROOT) == []


def test_the_check_sees_a_wrong_way_arrow_also_inside_a_function(tmp_path):
    for app in ALLOWED:
        (tmp_path / app).mkdir()
    (tmp_path / "invoicing" / "ok.py").write_text("from accounts.models import Customer\n")
    (tmp_path / "invoicing" / "bad.py").write_text("def f():\n    from reports.views import dashboard\n")
    (tmp_path / "accounts" / "urls.py").write_text("import ledger_site.urls\n")
    (tmp_path / "accounts" / "migrations").mkdir()
    (tmp_path / "accounts" / "migrations" / "0001.py").write_text("import reports\n")  # migrations aside
    assert wrong_way_arrows(tmp_path) == [
        "accounts/urls.py:1 imports ledger_site.urls (wiring, not infrastructure)",
        "invoicing/bad.py:2 imports reports.views (invoicing → reports)",
    ]
