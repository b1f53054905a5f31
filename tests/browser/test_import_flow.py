"""In a real browser: upload a customers CSV, map its columns, see the dry run's row errors, fix the
file, import it and find an imported customer; then upload an invoices XLSX and import it.

Screenshots go to $SCREENSHOT_DIR (default tests/artifacts/pages/, which git ignores).
"""

import re

import pytest

from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import make_org
from tests.imports.helpers import xlsx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def import_org(transactional_db):
    return make_org(name="Browser Imports", slug="browser-imports")


def upload(page, base, kind, path):
    page.goto(f"{base}/settings/import/")
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", str(path))
    page.click("text=Upload and map columns")
    page.wait_for_url(re.compile(r".*/settings/import/\d+/$"))


def test_customers_csv_then_invoices_xlsx(import_org, live_server, page, capture, tmp_path):
    org, owner = import_org
    base = f"{live_server.url}/o/{org.slug}"
    sign_in(page, owner.email)

    bad = tmp_path / "customers.csv"
    bad.write_text("Account;Company;E-mail\n00017;Harbour Tiles;ap@harbour.example\n00018;;x@y.example\n")
    upload(page, base, "customers", bad)
    assert page.input_value("select[name=map_code]") == "Account"  # named like the field
    page.select_option("select[name=map_name]", "Company")
    page.select_option("select[name=map_billing_emails]", "E-mail")
    assert_every_control_is_labelled(page)
    capture(page, "import-01-mapping")
    page.click("#import-check")
    page.wait_for_load_state()
    assert page.inner_text("#import-error-count") == "1"
    error = page.locator("#import-errors tbody tr").first.inner_text()
    assert "3" in error and "Company" in error and "Name is required" in error
    assert page.locator("#import-commit").count() == 0  # no import from a dry run with errors
    capture(page, "import-02-dry-run-errors")

    good = tmp_path / "customers-fixed.csv"
    good.write_text("Account;Company;E-mail\n00017;Harbour Tiles;ap@harbour.example\n00018;Quay Stone;\n")
    upload(page, base, "customers", good)
    page.select_option("select[name=map_name]", "Company")
    page.click("#import-check")
    page.wait_for_load_state()
    assert page.inner_text("#import-new") == "2"
    page.click("#import-commit")
    page.wait_for_load_state()
    assert "Imported 2 new records" in page.inner_text(".messages")
    capture(page, "import-03-imported")

    page.goto(f"{base}/customers/?q=Harbour")
    page.click("text=Harbour Tiles")
    assert "00017" in page.inner_text("main")

    invoices = tmp_path / "invoices.xlsx"
    invoices.write_bytes(xlsx_bytes([
        ["Invoice No", "Customer", "Date", "Item", "Qty", "Price", "VAT %"],
        ["H-0001", "00017", "2025-05-02", "Tiles", 10, 12.5, 20],
        ["H-0001", "00017", "2025-05-02", "Delivery", 1, 40, 20],
        ["H-0002", "00018", "2025-05-09", "Stone", 2, 99.99, 0],
    ]))
    upload(page, base, "invoices", invoices)
    page.select_option("select[name=map_issue_date]", "Date")
    page.select_option("select[name=map_description]", "Item")
    page.select_option("select[name=map_unit_price]", "Price")
    page.click("#import-check")
    page.wait_for_load_state()
    assert page.inner_text("#import-new") == "2" and page.inner_text("#import-error-count") == "0"
    assert "EUR" in page.inner_text("#import-report") and "397.98" in page.inner_text("#import-report")
    page.click("#import-commit")
    page.wait_for_load_state()
    capture(page, "import-04-invoices-imported")
    page.goto(f"{base}/invoices/")
    assert "H-0001" in page.inner_text("main") and "H-0002" in page.inner_text("main")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/settings/import/")
    capture(page, "import-05-list-phone")
