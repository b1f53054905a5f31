"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Fixtures: `page` (a fresh browser context per test; JavaScript errors fail the test; on
failure a full-page screenshot goes to tests/artifacts/, which git ignores) and `capture`
(saves a named screenshot to tests/artifacts/pages/ for people to look at).

Playwright's sync API runs an event loop in the test's thread, so Django's async-safety check
would refuse the ORM there; the test thread is never really async, hence the switch below.
While that loop runs, Django also keeps a separate connection for the thread; the fixture
closes it before Playwright stops.
Playwright is started per test, so other modules' own Playwright fixtures never overlap it.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connections

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: install it (sudo apt-get install chromium) or run `make test`, "
                    "which installs it when run as root.")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(request, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url,
                                      locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
            failed = getattr(request.node, "report_call", None)
            if failed is not None and failed.failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            context.close()
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections in a
            # separate (context-local) slot; close them now or they outlive the test and
            # block dropping the test database.
            connections.close_all()


@pytest.fixture
def capture():
    folder = ARTIFACTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name: str):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return save


def assert_every_control_is_labelled(page):
    """Every visible input, select and textarea has a label (or aria-label)."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name || el.id || el.outerHTML.slice(0, 60))""")
    assert unlabelled == [], f"controls without a label: {unlabelled}"
