"""The layout issue 12 asks for, kept: each app has one views package (no views*.py modules beside
it) and one urls module, and a view module imports at its top, never inside a function (an import
inside a function hides a dependency from the direction test and from a reader)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "invoicing", "payments", "reminders", "reports")


def _function_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(fn)
                      if isinstance(node, ast.Import | ast.ImportFrom)]
    return found


def test_each_app_has_one_views_package_and_one_urls_module():
    for app in APPS:
        assert (ROOT / app / "views" / "__init__.py").exists(), f"{app} has no views package"
        stray = sorted(p.name for p in (ROOT / app).glob("views*.py"))
        assert not stray, f"{app} has view modules beside its views package: {stray}"
        urls = sorted(p.name for p in (ROOT / app).glob("urls*.py"))
        assert len(urls) == 1, f"{app} has {urls} (one urls module per app)"


def test_views_import_at_the_top():
    found = [hit for app in APPS for path in sorted((ROOT / app / "views").glob("*.py"))
             for hit in _function_imports(path)]
    assert found == []


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef page(request):\n    from accounts import models\n    return models\n")
    assert _function_imports(bad) == ["bad.py:4"]
