"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Fixtures: `page` (a page in a fresh browser context; JavaScript errors fail the test; on failure
a full-page screenshot goes to tests/artifacts/, which git ignores), `new_page` (opens more such
pages, each in its own context: another person, with no session) and `capture` (saves a named
screenshot to $SCREENSHOT_DIR, default tests/artifacts/pages/, for people to look at). `sign_in`
signs in through the login form.

Take the fixtures that make data before `page`: Playwright's sync API runs an event loop in the
test's thread, so Django's async-safety check would refuse the ORM there; the test thread is
never really async, hence the switch below. While that loop runs, Django also keeps a separate
connection for the thread; the `browser` fixture closes it before Playwright stops.
Playwright is started per test, so no two tests' Playwright instances ever overlap.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connections

from tests.factories import PASSWORD

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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # While Playwright's loop runs, Django keeps this thread's connections in a
            # separate (context-local) slot; close them now or they outlive the test and
            # block dropping the test database.
            connections.close_all()


@pytest.fixture
def new_page(request, live_server, browser):
    """new_page() opens a page in a fresh browser context; the pages' JavaScript errors fail the test."""
    pages, errors = [], []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server.url,
                                      locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        pages.append(page)
        return page

    yield open_page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for n, page in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"{name}{f'-{n}' if n else ''}.png"), full_page=True)
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def capture():
    folder = Path(os.environ.get("SCREENSHOT_DIR") or ARTIFACTS / "pages")
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


def sign_in(page, email, password=PASSWORD, landing="**/o/*/"):
    """Sign in through the login form; waits until it has led to `landing` (an organization's dashboard)."""
    page.goto("/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(landing)
