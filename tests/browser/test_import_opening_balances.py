"""In a real browser: upload an opening-balances CSV, see the dry run's row error for a date in a
closed period, fix the file, import it, and find the opening balance on the invoices list.

Screenshots go to $SCREENSHOT_DIR (default tests/artifacts/pages/, which git ignores).
"""

from datetime import date

import pytest

from accounts import period
from ledger_site.tenancy import tenant_context
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.browser.test_import_flow import upload
from tests.factories import make_org
from tests.imports.helpers import do_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def closed_period_org(transactional_db):
    org, owner = make_org(name="Browser Opening", slug="browser-opening")
    assert do_import(org, "customers", b"code,name\n00017,Harbour Tiles\n00018,Quay Stone\n", actor=owner).committed
    with tenant_context(org, owner):
        period.close_period(org, date(2025, 1, 31), actor=owner)
    return org, owner


def test_opening_balances_csv(closed_period_org, live_server, page, capture, tmp_path):
    org, owner = closed_period_org
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)

    bad = tmp_path / "balances.csv"
    bad.write_text("Customer,Balance date,Balance,Ref\n00017,2025-01-15,1480.00,old 2291\n00018,2025-03-01,-40.00,\n")
    upload(page, base, "opening_balances", bad)
    assert page.input_value("select[name=map_customer_code]") == "Customer"
    assert page.input_value("select[name=map_amount]") == "Balance"
    page.select_option("select[name=map_date]", "Balance date")
    page.select_option("select[name=map_reference]", "Ref")
    assert_every_control_is_labelled(page)
    page.click("#import-check")
    page.wait_for_load_state()
    assert page.inner_text("#import-error-count") == "1"
    error = page.locator("#import-errors tbody tr").first.inner_text()
    assert "2" in error and "closed up to 2025-01-31" in error
    assert page.locator("#import-commit").count() == 0
    capture(page, "import-opening-01-closed-period")

    good = tmp_path / "balances-fixed.csv"
    good.write_text("Customer,Balance date,Balance,Ref\n00017,2025-02-15,1480.00,old 2291\n00018,2025-03-01,-40.00,\n")
    upload(page, base, "opening_balances", good)
    page.select_option("select[name=map_date]", "Balance date")
    page.click("#import-check")
    page.wait_for_load_state()
    assert page.inner_text("#import-new") == "2" and page.inner_text("#import-error-count") == "0"
    assert "1440.00" in page.inner_text("#import-report")  # the sum of the rows
    page.click("#import-commit")
    page.wait_for_load_state()
    assert "Imported 2 new records" in page.inner_text(".messages")
    capture(page, "import-opening-02-imported")
    page.goto(f"{base}/invoices/")
    assert "OB-00017-20250215" in page.inner_text("main")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/invoices/")
    capture(page, "import-opening-03-invoices-phone")
