"""axe-core on the main pages (issue 21): no serious or critical violations, at 1366×900 and
390×844, and no sideways page scroll on a phone. axe.min.js is vendored by scripts/vendor_axe.sh
(`make test` runs it); it is evaluated in the page through the DevTools protocol, so the pages'
Content-Security-Policy stays as it is and nothing is fetched from the network."""

from pathlib import Path

import pytest
from django.utils import timezone

from ledger_site.tenancy import tenant_context
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe.min.js"
PAGES = ["", "customers/", "customers/{customer}/", "invoices/", "invoices/{invoice}/", "invoices/new/",
         "payments/", "payments/new/", "reports/", "search/?q=acme", "setup/", "guide/"]


@pytest.fixture
def books(transactional_db):
    org, owner = make_org(name="Axe Check", slug="axe-check")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Acme Axe", code="AXE")
        today = timezone.localdate()
        invoice = issued(org, customer, [("Work", "3", "95.00", None)], issue_date=today - timezone.timedelta(days=30),
                         due_date=today - timezone.timedelta(days=3))
        pay(org, customer, "100.00", reference="AXE-PAY")
    return org, owner, customer, invoice


def axe_violations(page):
    assert AXE.exists(), "run scripts/vendor_axe.sh (make test does) to vendor axe-core"
    page.evaluate(AXE.read_text() + "\n;0")
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""")


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_main_pages_pass_axe_and_fit_a_phone(books, live_server, page, capture, viewport):
    org, owner, customer, invoice = books
    page.set_viewport_size(viewport)
    sign_in(page, owner.email)
    problems = {}
    for path in PAGES:
        page.goto(f"{live_server.url}/o/{org.slug}/{path.format(customer=customer.pk, invoice=invoice.pk)}")
        found = axe_violations(page)
        if viewport["width"] < 500 and page.evaluate(
                "() => document.documentElement.scrollWidth > window.innerWidth + 1"):
            found.append("the page scrolls sideways")
        if found:
            problems[path] = found
        capture(page, f"daily-axe-{viewport['width']}-{(path.split('/')[0] or 'dashboard')}")
    assert problems == {}
