"""Files attached to a dispute (issue 19 #1): uploaded on the customer's link with the dispute and by
staff on the dispute's page; types by their first bytes only; caps per file and per dispute; one
bad file stores nothing; a double submit stores once; downloads only on the customer's own link or
for the organization's staff, as attachments with nosniff; append-only and sealed."""

import hashlib
import io
import time
import uuid

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from accounts.ledger_verify import verify_organization
from accounts.models import SealRecord
from invoicing import public
from invoicing.models import InvoiceEvent
from ledger_site.tenancy import tenant_context
from reminders import attachments, disputes
from reminders.models_collections import Dispute, DisputeAttachment, PortalAction
from tests.concurrency import run_at_once
from tests.ledger.test_tamper import triggers_off
from tests.reminders.test_portal import two_orgs  # noqa: F401 (the fixture)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def image(fmt: str, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format=fmt)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def key():
    return uuid.uuid4().hex


def dispute_post(w, files, k=None, invoice="a1"):
    return {
        "invoice": w[invoice].pk,
        "key": k or key(),
        "reason": "not_received",
        "message": "See the note",
        "files": files,
    }


def test_files_sent_with_a_dispute_are_stored_checked_sealed_and_shown_to_both_sides(two_orgs, client):  # noqa: F811
    w = two_orgs
    png = image("PNG")
    response = client.post(
        w["url_a"] + "dispute/",
        dispute_post(
            w, [upload("../../Lieferschein März.PDF", PDF), upload("photo of box.png", png, "application/octet-stream")]
        ),
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302 and "done=dispute" in response.url
    with w["x"].ctx():
        d = Dispute.objects.get()
        files = list(DisputeAttachment.objects.order_by("pk"))
        assert [(f.filename, f.content_type, f.size, bytes(f.content)) for f in files] == [
            ("Lieferschein März.pdf", "application/pdf", len(PDF), PDF),
            ("photo of box.png", "image/png", len(png), png),
        ]
        assert all(
            f.dispute_id == d.pk
            and f.from_customer
            and f.uploaded_by_id is None
            and f.ip == "198.51.100.7"
            and f.link_id == w["link_a"].pk
            for f in files
        )
        assert files[0].sha256 == hashlib.sha256(PDF).hexdigest()
        # Sealed, and the books (with the seal chain) verify.
        assert SealRecord.objects.filter(kind="dispute_attachment").count() == 2
        assert verify_organization(w["x"].org).problems == []
        # The invoice's timeline says so.
        events = list(
            InvoiceEvent.objects.filter(invoice=w["a1"], kind="dispute_attachment").values_list("message", flat=True)
        )
        assert len(events) == 2 and "Lieferschein März.pdf" in events[0] and "the customer" in events[0]
    page = client.get(w["url_a"]).content.decode()
    assert "Lieferschein März.pdf" in page and "photo of box.png" in page
    download = client.get(w["url_a"] + f"attachments/{files[1].pk}/")
    assert download.status_code == 200 and download.content == png
    assert download["Content-Type"] == "image/png" and download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"] == 'attachment; filename="photo of box.png"'
    assert "no-store" in download["Cache-Control"]
    # Staff see them on the dispute and download them.
    client.force_login(w["x"].viewer)
    page = client.get(w["x"].url("dispute_detail", pk=d.pk)).content.decode()
    assert "Lieferschein März.pdf" in page and "198.51.100.7" in page
    staff = client.get(w["x"].url("dispute_attachment", pk=d.pk, file_pk=files[0].pk))
    assert staff.status_code == 200 and staff.content == PDF and staff["X-Content-Type-Options"] == "nosniff"
    assert staff["Content-Disposition"].startswith("attachment; filename*=utf-8''Lieferschein%20M%C3%A4rz.pdf")


@pytest.mark.parametrize(
    "files, message",
    [
        ([("invoice.pdf", HTML)], "invoice.pdf is not a PDF, PNG or JPEG file"),
        ([("ok.pdf", PDF), ("evil.png", b"GIF89a" + b"\0" * 20)], "evil.png is not a PDF, PNG or JPEG file"),
        ([("empty.pdf", b"")], "empty.pdf is empty"),
        ([("same.pdf", PDF), ("again.pdf", PDF)], "again.pdf is already attached"),
    ],
)
def test_a_bad_file_refuses_the_whole_dispute_and_stores_nothing(two_orgs, client, files, message):  # noqa: F811
    w = two_orgs
    response = client.post(w["url_a"] + "dispute/", dispute_post(w, [upload(n, c) for n, c in files]))
    page = response.content.decode()
    assert response.status_code == 400 and message in page
    assert "See the note</textarea>" in page  # the form comes back with what was typed
    with w["x"].ctx():
        assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()
        assert not PortalAction.objects.exists()


def test_caps_per_file_and_per_dispute(two_orgs, client, monkeypatch):  # noqa: F811
    w = two_orgs
    big = PDF + b"0" * attachments.MAX_FILE_BYTES
    response = client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("scan.pdf", big)]))
    assert response.status_code == 400 and "scan.pdf is 5.0\xa0MB; a file may be at most 5.0\xa0MB" in (
        response.content.decode()
    )
    # Per dispute: three files of 40 bytes fit 100 bytes in all only twice.
    monkeypatch.setattr(attachments, "MAX_DISPUTE_BYTES", 100)
    files = [upload(f"n{i}.pdf", PDF[:40] + bytes([i])) for i in range(3)]
    response = client.post(w["url_a"] + "dispute/", dispute_post(w, files))
    assert response.status_code == 400 and "may come to at most 100\xa0bytes in all" in response.content.decode()
    monkeypatch.setattr(attachments, "MAX_FILES", 2)
    files = [upload(f"n{i}.pdf", PDF[:20] + bytes([i])) for i in range(3)]
    response = client.post(w["url_a"] + "dispute/", dispute_post(w, files))
    assert response.status_code == 400 and "At most 2 files" in response.content.decode()
    with w["x"].ctx():
        assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()


def test_a_double_submit_stores_the_dispute_and_its_files_once(two_orgs, client):  # noqa: F811
    w = two_orgs
    k = key()
    first = client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)], k))
    again = client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)], k))
    assert first.status_code == again.status_code == 302 and "done=again" in again.url
    with w["x"].ctx():
        assert Dispute.objects.count() == 1 and DisputeAttachment.objects.count() == 1


def test_another_link_or_organization_finds_no_file(two_orgs, client):  # noqa: F811
    w = two_orgs
    assert client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)])).status_code == 302
    with w["x"].ctx():
        file_a = DisputeAttachment.objects.get()
        d = file_a.dispute
    with tenant_context(w["y"].org):
        other_dispute = disputes.raise_dispute(w["c1"], reason="other")
        checked = attachments.check([upload("y.pdf", PDF + b"y")])
        (file_y,) = attachments.store(other_dispute, checked, actor=w["y"].owner)
    # The same organization's other customer's link, and another organization's link: 404.
    assert client.get(w["url_b"] + f"attachments/{file_a.pk}/").status_code == 404
    assert client.get(w["url_c"] + f"attachments/{file_a.pk}/").status_code == 404
    assert client.get(w["url_a"] + f"attachments/{file_y.pk}/").status_code == 404
    assert client.get(w["url_a"] + f"attachments/{file_a.pk}/").status_code == 200
    # A revoked link finds nothing either.
    with w["x"].ctx():
        public.revoke_link(w["link_a"], actor=w["x"].owner)
    assert client.get(w["url_a"] + f"attachments/{file_a.pk}/").status_code == 404
    # Staff: the other organization's file under this organization's dispute, or under its own: 404.
    client.force_login(w["x"].finance)
    assert client.get(w["x"].url("dispute_attachment", pk=d.pk, file_pk=file_y.pk)).status_code == 404
    assert client.get(w["x"].url("dispute_attachment", pk=other_dispute.pk, file_pk=file_y.pk)).status_code == 404
    client.force_login(w["y"].owner)
    assert client.get(w["x"].url("dispute_attachment", pk=d.pk, file_pk=file_a.pk)).status_code in (403, 404)


def test_staff_attach_their_own_files_to_an_open_dispute(two_orgs, client):  # noqa: F811
    w = two_orgs
    with w["x"].ctx():
        d = disputes.raise_dispute(w["a1"], reason="quality", actor=w["x"].owner)
    url = w["x"].url("dispute_attach", pk=d.pk)
    jpeg = image("JPEG")
    client.force_login(w["x"].viewer)
    assert client.post(url, {"files": [upload("x.jpg", jpeg)]}).status_code == 403
    client.force_login(w["x"].finance)
    response = client.post(url, {"files": [upload("signed delivery.jpeg", jpeg, "text/html")]}, follow=True)
    assert "1 file attached." in response.content.decode()
    again = client.post(url, {"files": [upload("copy.jpg", jpeg)]}, follow=True).content.decode()
    assert "copy.jpg is already attached to this dispute." in again
    bad = client.post(url, {"files": [upload("page.jpg", HTML)]}, follow=True).content.decode()
    assert "page.jpg is not a PDF, PNG or JPEG file" in bad
    with w["x"].ctx():
        f = DisputeAttachment.objects.get()
        assert (f.filename, f.content_type, f.from_customer, f.uploaded_by_id) == (
            "signed delivery.jpg",
            "image/jpeg",
            False,
            w["x"].finance.pk,
        )
        disputes.resolve(d, outcome="rejected", note="Delivered and signed for", actor=w["x"].finance)
    closed = client.post(url, {"files": [upload("late.png", image("PNG"))]}, follow=True).content.decode()
    assert "A resolved dispute takes no more files." in closed
    with w["x"].ctx():
        assert DisputeAttachment.objects.count() == 1


def test_the_application_role_cannot_change_or_remove_a_file(two_orgs, client):  # noqa: F811
    w = two_orgs
    client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)]))
    with w["x"].ctx():
        assert DisputeAttachment.objects.count() == 1  # visible: a refusal below is not "no rows"
        for statement in (
            "UPDATE reminders_disputeattachment SET filename = 'x.pdf'",
            "DELETE FROM reminders_disputeattachment",
        ):
            with (
                pytest.raises(DatabaseError, match="permission denied"),
                transaction.atomic(),
                connection.cursor() as c,
            ):
                c.execute(statement)
        assert DisputeAttachment.objects.get().filename == "note.pdf"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE reminders_disputeattachment SET content = '\\x255044462d'::bytea",
        "DELETE FROM reminders_disputeattachment",
        "TRUNCATE reminders_disputeattachment",
    ],
)
def test_the_triggers_refuse_even_the_table_owner(two_orgs, client, owner_sql, statement):  # noqa: F811
    w = two_orgs
    client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)]))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: .* on reminders_disputeattachment"):
        owner_sql.execute(statement)
    assert owner_sql.execute("SELECT filename, content FROM reminders_disputeattachment").fetchall() == [
        ("note.pdf", PDF)
    ]


@given(st.binary(max_size=64))
def test_a_type_is_accepted_exactly_when_the_bytes_start_with_its_signature(data):
    expected = next((t for sig, t, _ext in attachments.SIGNATURES if data.startswith(sig)), None)
    assert attachments.sniff(data) == expected
    assert attachments.sniff(b"<html>" + data) is None  # a type is never found later in the file


@given(st.text(max_size=300), st.sampled_from([t for _s, t, _e in attachments.SIGNATURES]))
def test_a_cleaned_name_is_safe_whatever_was_sent(name, content_type):
    cleaned = attachments.clean_filename(name, content_type)
    stem, ext = cleaned.rsplit(".", 1)
    assert ext == attachments.EXTENSIONS[content_type] and 0 < len(stem) <= 80
    assert not set(cleaned) & set("/\\\"'<>;:\r\n\t\0") and cleaned[0] not in ". "
    assert all(ch.isprintable() for ch in cleaned)


@pytest.mark.django_db(transaction=True)
def test_a_file_changed_past_the_triggers_is_named_by_the_seal_check(two_orgs, client, owner_sql):  # noqa: F811
    w = two_orgs
    client.post(w["url_a"] + "dispute/", dispute_post(w, [upload("note.pdf", PDF)]))
    with tenant_context(w["x"].org):
        assert verify_organization(w["x"].org).problems == []
    with triggers_off(owner_sql, "reminders_disputeattachment"):
        owner_sql.execute("UPDATE reminders_disputeattachment SET content = %s", [PDF + b"% forged"])
    with tenant_context(w["x"].org):
        problems = " ".join(str(p) for p in verify_organization(w["x"].org).problems)
    assert "attachment note.pdf on dispute" in problems and "no longer matches" in problems


@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_are_counted_against_the_cap_one_after_the_other(two_orgs, monkeypatch):  # noqa: F811
    """attach() locks the dispute before counting its files: without the lock both uploads would count
    none and both would be stored past the cap (the slowed type check keeps them in step)."""
    w = two_orgs
    with tenant_context(w["x"].org):
        d = disputes.raise_dispute(w["a1"], reason="quality", actor=w["x"].owner)
    monkeypatch.setattr(attachments, "MAX_FILES", 1)
    sniff = attachments.sniff

    def slow_sniff(content):
        time.sleep(0.5)
        return sniff(content)

    monkeypatch.setattr(attachments, "sniff", slow_sniff)

    def work(i):
        try:
            attachments.attach(d, [upload(f"n{i}.pdf", PDF + bytes([i]))], actor=w["x"].finance)
        except attachments.AttachmentError as e:
            return str(e)
        return "stored"

    results = run_at_once(2, work, org=w["x"].org, actor=w["x"].finance)
    assert sorted(results) == ["At most 1 file can be attached to a dispute.", "stored"]
    with tenant_context(w["x"].org):
        assert DisputeAttachment.objects.count() == 1
