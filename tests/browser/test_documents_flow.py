"""In a real browser: an issued invoice's Documents panel — download the PDF, send it by e-mail
(through a real SMTP server and the django-q2 task), open the customer's link in a fresh browser
context, and see "viewed" on the invoice page; the logo settings page.

Screenshots go to $SCREENSHOT_DIR (default tests/artifacts/pages/, which git ignores).
"""

import hashlib
import io
import re
import threading
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in
from tests.smtp import SmtpServer, use_smtp

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("as_worker_role")]


def off_thread(fn, *args):
    """Run ORM work outside Playwright's event loop (Django refuses it in an async thread)."""
    box = {}

    def run():
        from django.db import connection

        try:
            box["value"] = fn(*args)
        except BaseException as e:  # re-raised below, in the test's thread
            box["error"] = e
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def run_worker():
    """What a django-q2 worker does with the queue: run each queued task (the PDF render queued
    when the invoice was issued, the e-mail), then drop it. Returns {task: [results]}."""
    from django.utils.module_loading import import_string
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    results = {}
    for row in OrmQ.objects.order_by("pk"):
        task = SignedPackage.loads(row.payload)
        assert task["func"] in ("invoicing.tasks.send_email_delivery", "invoicing.tasks.render_invoice_pdf")
        results.setdefault(task["func"], []).append(import_string(task["func"])(*task["args"]))
        row.delete()
    return results


@pytest.fixture
def invoice_world(transactional_db, settings, tmp_path):
    """Made before the browser starts: Playwright's event loop makes the thread async."""
    from ledger_site.tenancy import tenant_context
    from tests.documents_helpers import make_billing_customer, make_billing_org
    from tests.invoicing_helpers import issued

    settings.MEDIA_ROOT = tmp_path / "media"
    org, owner = make_billing_org(slug="browser-docs")
    with tenant_context(org):
        customer = make_billing_customer(org)
        invoice = issued(org, customer, lines=(("Consulting — March", "12.5", "95.00", "20"),
                                               ("Hosting", "1", "49.00", "20"),
                                               ("Support hours", "3", "60.00", "20")), reference="PO-4471")
    return org, owner, invoice


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    use_smtp(settings, server.port)
    yield server
    server.stop()


def test_download_send_open_the_link_and_see_viewed(invoice_world, smtp, live_server, page, new_page, capture):
    from tests.documents_helpers import pdf_pages_text

    org, owner, invoice = invoice_world
    sign_in(page, owner.email)
    invoice_url = f"{live_server.url}/o/{org.slug}/invoices/{invoice.pk}/"
    page.goto(invoice_url)
    panel = page.locator("#documents")
    assert panel.is_visible()

    # 1. download the PDF
    with page.expect_download() as download_info:
        page.click("#download-pdf")
    download = download_info.value
    assert download.suggested_filename == f"invoice-{invoice.number}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and invoice.number in pdf_pages_text(pdf)[0]

    # 2. send it: the form is prefilled from the customer's billing e-mails and the templates
    assert page.input_value("#documents input[name=recipients]") == "ap@contoso.example, finance@contoso.example"
    assert invoice.number in page.input_value("#documents input[name=subject]")
    assert "{link}" in page.input_value("#documents textarea[name=body]")
    capture(page, "documents_panel_send_form")
    page.click("#send-invoice")
    page.wait_for_selector("text=is on its way")
    assert "Queued" in page.inner_text(".delivery-log")
    done = off_thread(run_worker)
    assert done["invoicing.tasks.send_email_delivery"] == ["sent"]
    [message] = smtp.wait_for(1) and smtp.messages
    page.reload()
    log = page.inner_text(".delivery-log")
    assert "Sent" in log and "ap@contoso.example" in log
    [attachment] = list(message.iter_attachments())
    sha = hashlib.sha256(attachment.get_content()).hexdigest()
    assert sha[:12] in log  # the log shows the hash of the PDF that was sent
    assert done["invoicing.tasks.render_invoice_pdf"] == [sha]  # queued on issue: the same stored PDF
    assert "E-mailed to ap@contoso.example, finance@contoso.example" in page.inner_text("body")

    # 3. the customer opens the link from the e-mail in a fresh browser (no session)
    link = page.input_value("#public-link-url")
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert link in body
    customer_page = new_page()
    # The page reports the view itself after a moment on screen (a scanner's GET does not count).
    with customer_page.expect_response(lambda r: r.url.endswith("/seen") and r.status == 204):
        customer_page.goto(link)
    assert invoice.number in customer_page.inner_text("h1")
    assert customer_page.inner_text("#public-amount-due") == "1,699.80 EUR"  # (1,187.50 + 49.00 + 180.00) × 1.2
    assert "Consulting — March" in customer_page.inner_text(".public-lines")
    capture(customer_page, "public_invoice")
    with customer_page.expect_download() as download_info:
        customer_page.click("#public-download")
    assert hashlib.sha256(Path(download_info.value.path()).read_bytes()).hexdigest() == sha
    assert "/login/" not in customer_page.url

    # 4. back on the invoice page: viewed, once
    page.reload()
    assert page.inner_text("body").count("Viewed by the customer") == 1
    # The page view and the download came from one client within PUBLIC_LINK_VIEW_INTERVAL_SECONDS: one view.
    assert "Opened once" in page.inner_text("#link-views")
    capture(page, "invoice_page_documents")


def test_copy_and_revoke_the_link_and_upload_a_logo(invoice_world, live_server, page, new_page, capture):
    from PIL import Image

    org, owner, invoice = invoice_world
    sign_in(page, owner.email)
    page.goto(f"{live_server.url}/o/{org.slug}/invoices/{invoice.pk}/")
    page.click("#create-link")
    page.wait_for_selector("#public-link-url")
    link = page.input_value("#public-link-url")
    assert re.search(r"/p/[^/]+/$", link)
    copy = page.locator("[data-copy]")
    assert copy.is_visible()  # shown by the script
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    page.wait_for_selector("[data-copy]:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == link

    page.click("text=Revoke link")
    page.wait_for_url(re.compile(r".*/link/revoke/$"))
    capture(page, "revoke_link_confirm")
    page.click("button.btn-danger")
    page.wait_for_selector("text=Public link revoked")
    other = new_page()
    response = other.goto(link)
    assert response.status == 404

    # the logo page
    page.goto(f"{live_server.url}/o/{org.slug}/settings/logo/")
    buf = io.BytesIO()
    img = Image.new("RGB", (360, 120), (23, 33, 58))
    img.paste((79, 124, 255), (20, 20, 100, 100))
    img.save(buf, format="PNG")
    page.set_input_files("input[name=logo]", files=[{"name": "brand.png", "mimeType": "image/png",
                                                    "buffer": buf.getvalue()}])
    page.click("#upload-logo")
    page.wait_for_selector("text=Logo saved")
    # the preview loads after the page: wait for it to finish, loaded or broken
    page.wait_for_function("() => document.querySelector('.logo-preview img')?.complete")
    assert page.locator(".logo-preview img").evaluate("img => img.naturalWidth") == 360
    capture(page, "logo_settings")
    page.set_input_files("input[name=logo]", files=[{"name": "notes.png", "mimeType": "image/png",
                                                    "buffer": b"not an image"}])
    page.click("#upload-logo")
    assert "Upload a valid image" in page.inner_text(".logo-form")
