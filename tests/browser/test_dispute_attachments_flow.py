"""In a real browser: the customer, on a phone, disputes an invoice with a delivery note and a photo
(a disguised file is refused first); the clerk, on a desktop, sees the files on the dispute, downloads
one and attaches their own."""

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from invoicing import public
from ledger_site.tenancy import tenant_context
from reminders.models_collections import Dispute, DisputeAttachment
from tests.browser.conftest import assert_every_control_is_labelled, sign_in
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def picture(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def attach_world(transactional_db, tmp_path):
    org, owner = make_org(name="Crate Works", slug="crate-works")
    clerk = add_member(org)
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Harbour Cafe", billing_emails="ap@harbour.example")
        today = date.today()
        invoice = issued(
            org,
            customer,
            lines=(("Oak crates", "4", "45.00", "0"),),
            issue_date=today - timedelta(days=20),
            due_date=today + timedelta(days=10),
        )
        path = public.link_path(public.ensure_link(invoice))
    files = {
        "note": tmp_path / "delivery note.pdf",
        "photo": tmp_path / "broken crate.png",
        "fake": tmp_path / "invoice.pdf",
        "staff": tmp_path / "signed receipt.jpg",
    }
    files["note"].write_bytes(PDF)
    files["photo"].write_bytes(picture("PNG"))
    files["fake"].write_bytes(b"<html><body><script>alert(1)</script></body></html>")
    files["staff"].write_bytes(picture("JPEG"))
    return org, clerk, invoice, path, files


def fill_dispute(card, *paths):
    card.locator("summary", has_text="Something is wrong").click()
    card.locator("select[name=reason]").select_option("quality")
    card.locator("textarea[name=message]").fill("Two crates arrived broken; photo and note attached")
    card.locator("input[type=file][name=files]").set_input_files([str(p) for p in paths])
    card.locator("button", has_text="Send dispute").click()


def test_the_customer_attaches_files_on_a_phone_and_the_clerk_sees_and_adds_files(
    attach_world, live_server, page, capture
):
    org, clerk, invoice, path, files = attach_world
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + path + "account/")
    card = page.locator(f"#inv-{invoice.pk}")
    fill_dispute(card, files["fake"])
    assert "invoice.pdf is not a PDF, PNG or JPEG file" in page.inner_text("#portal-error")
    capture(page, "dispute-attachment-refused-phone")
    with tenant_context(org):
        assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()

    # The refused form comes back open with what was typed; only the files are chosen again.
    card = page.locator(f"#inv-{invoice.pk}")
    assert card.locator("select[name=reason]").input_value() == "quality"
    assert card.locator("textarea[name=message]").input_value().startswith("Two crates arrived broken")
    card.locator("input[type=file][name=files]").set_input_files([str(files["note"]), str(files["photo"])])
    card.locator("button", has_text="Send dispute").click()
    page.wait_for_url(re.compile(r".*done=dispute$"))
    card = page.locator(f"#inv-{invoice.pk}")
    assert "delivery note.pdf" in card.inner_text() and "broken crate.png" in card.inner_text()
    with page.expect_download() as download:
        card.locator("a", has_text="broken crate.png").click()
    assert download.value.suggested_filename == "broken crate.png"
    assert Path(download.value.path()).read_bytes() == files["photo"].read_bytes()
    card.locator("summary", has_text="Something is wrong").click()
    assert_every_control_is_labelled(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    capture(page, "dispute-attachments-portal-phone")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, clerk.email)
    with tenant_context(org):
        dispute = Dispute.objects.get()
    page.goto(f"{live_server.url}/o/{org.slug}/reminders/disputes/{dispute.pk}/")
    section = page.locator("#attachments")
    assert "delivery note.pdf" in section.inner_text() and "Harbour Cafe" in section.inner_text()
    with page.expect_download() as download:
        section.locator("a", has_text="delivery note.pdf").click()
    assert Path(download.value.path()).read_bytes() == PDF
    section.locator("input[type=file]").set_input_files(str(files["staff"]))
    section.locator("button", has_text="Attach").click()
    page.wait_for_url(re.compile(r".*#attachments$"))
    assert "1 file attached." in page.inner_text("body")
    assert "signed receipt.jpg" in page.inner_text("#attachments")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    capture(page, "dispute-attachments-staff-desktop")
    with tenant_context(org):
        assert sorted(DisputeAttachment.objects.values_list("filename", "from_customer")) == [
            ("broken crate.png", True),
            ("delivery note.pdf", True),
            ("signed receipt.jpg", False),
        ]
