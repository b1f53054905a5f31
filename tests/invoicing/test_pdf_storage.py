"""Issued PDFs are rendered once (queued on issue, or on first need), stored with their SHA-256,
and served from storage: no re-render, ETag/304, one query for the document."""

import hashlib
from decimal import Decimal

import pytest
from django.db import transaction
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from invoicing import documents, pdf, tasks
from invoicing.credit_notes import credit_amount
from invoicing.models_documents import StoredDocument
from invoicing.public import ensure_link, link_path
from invoicing.services import issue_invoice
from ledger_site.tenancy import current_org_id, set_db_context, tenant_context
from tests.concurrency import run_at_once
from tests.documents_helpers import documents_world
from tests.invoicing_helpers import draft, issued

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = pytest.mark.usefixtures("as_worker_role")

doc_world = pytest.fixture(documents_world)

LINES = (("Consulting", "2", "100.00", "20"), ("Hosting", "1", "49.00", "20"))


def queued():
    return [(p["func"], p["args"]) for p in (SignedPackage.loads(row.payload) for row in OrmQ.objects.all())]


def run_render_tasks():
    """What a django-q2 worker does: call each queued render task outside any tenant context."""
    caller, shas = current_org_id(), []
    run = {documents.RENDER_TASK: tasks.render_invoice_pdf, documents.CREDIT_NOTE_TASK: tasks.render_credit_note_pdf}
    for func, args in queued():
        set_db_context(None, None)
        shas.append(run[func](*args))
    OrmQ.objects.all().delete()
    set_db_context(caller, None)
    return shas


@pytest.fixture
def renders(monkeypatch):
    """Counts the WeasyPrint renders of invoice PDFs."""
    calls = []
    real = pdf.render_invoice_pdf

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf, "render_invoice_pdf", counting)
    return calls


def test_issuing_queues_the_render_in_its_transaction_and_the_task_stores_it(doc_world, client, renders):
    with doc_world.ctx():
        rolled_back = draft(doc_world.org, doc_world.customer, lines=LINES)
        with pytest.raises(RuntimeError), transaction.atomic():
            issue_invoice(rolled_back)
            assert len(queued()) == 1
            raise RuntimeError("the caller's transaction fails after the issue")
        assert OrmQ.objects.count() == 0  # the task went with the issue it belonged to
        invoice = draft(doc_world.org, doc_world.customer, lines=LINES)
        issue_invoice(invoice)
        assert queued() == [(documents.RENDER_TASK, (doc_world.org.pk, invoice.pk))]
        [sha] = run_render_tasks()
        doc = StoredDocument.objects.get(invoice=invoice)
    assert sha == doc.sha256 == hashlib.sha256(bytes(doc.content)).hexdigest() and doc.size == len(doc.content)
    assert len(renders) == 1

    client.force_login(doc_world.viewer)
    response = client.get(doc_world.url("invoice_pdf", pk=invoice.pk))
    assert response.status_code == 200 and response.content == bytes(doc.content)
    assert response["ETag"] == f'"{doc.sha256}"'
    set_db_context(None, None)
    assert tasks.render_invoice_pdf(doc_world.org.pk, invoice.pk) == doc.sha256  # a second run is a no-op
    assert len(renders) == 1
    with doc_world.ctx():
        assert StoredDocument.objects.filter(invoice=invoice).count() == 1


def test_the_first_download_renders_and_stores_once_and_later_ones_serve_the_stored_bytes(doc_world, client, renders):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)  # its queued task never ran
    client.force_login(doc_world.viewer)
    url = doc_world.url("invoice_pdf", pk=invoice.pk)
    first = client.get(url)
    assert first.status_code == 200 and len(renders) == 1
    for _ in range(3):
        again = client.get(url)
        assert again.content == first.content and again["ETag"] == first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"stale"').content == first.content
    assert len(renders) == 1
    with doc_world.ctx():
        doc = StoredDocument.objects.get(invoice=invoice)
    assert first["ETag"] == f'"{hashlib.sha256(first.content).hexdigest()}"' == f'"{doc.sha256}"'


def test_a_new_state_is_rendered_once_and_an_older_stored_state_is_served_without_rendering(doc_world, client, renders):
    from django.utils import timezone

    from invoicing.services import write_off

    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    client.force_login(doc_world.viewer)
    url = doc_world.url("invoice_pdf", pk=invoice.pk)
    before = client.get(url)
    with doc_world.ctx():
        write_off(invoice, Decimal("10.00"), "Goodwill")
    after = client.get(url)
    assert after.content != before.content and len(renders) == 2
    assert client.get(url).content == after.content and len(renders) == 2
    with doc_world.ctx():  # the latest stored row is of another state: found by its state key instead
        StoredDocument.objects.create(organization=doc_world.org, kind="invoice", invoice=invoice, state_key="0" * 64,
                                      filename="other.pdf", content=b"%PDF-other", sha256="0" * 64, size=10,
                                      created_at=timezone.now() + timezone.timedelta(minutes=1))
    assert client.get(url).content == after.content and len(renders) == 2


def test_serving_a_stored_pdf_reads_the_invoice_and_its_document_in_one_query(doc_world, client,
                                                                              django_assert_num_queries):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    with doc_world.ctx():
        pdf.stored_invoice_pdf(invoice)
    client.force_login(doc_world.viewer)
    url = doc_world.url("invoice_pdf", pk=invoice.pk)
    etag = client.get(url)["ETag"]
    # session, user, tenant context, membership, tenant context, THE query, the invoice's seal check,
    # (with content) the stored PDF's seal check, tenant context reset
    with django_assert_num_queries(9):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(8):
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_public_link_serves_the_stored_pdf_with_etag_and_still_counts_views(doc_world, client, renders):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    with doc_world.ctx():
        link = ensure_link(invoice, doc_world.owner)
    url = link_path(link) + "pdf"
    first = client.get(url)
    assert first.status_code == 200 and first["Cache-Control"] == "private, no-store"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url).content == first.content and len(renders) == 1
    assert client.get(url, REMOTE_ADDR="192.0.2.8").status_code == 200
    with doc_world.ctx():
        link.refresh_from_db()
        # One client counts once per interval (PUBLIC_LINK_VIEW_INTERVAL_SECONDS); a second client again.
        assert link.view_count == 2 and link.first_viewed_at is not None
        assert invoice.events.filter(kind="viewed").count() == 1
        assert first.content == bytes(StoredDocument.objects.get(invoice=invoice).content)


def test_a_credit_note_queues_its_own_pdf_and_the_credited_invoices_new_state(doc_world, client, renders,
                                                                              django_capture_on_commit_callbacks):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    with doc_world.ctx():
        first = pdf.stored_invoice_pdf(invoice)
        OrmQ.objects.all().delete()  # the invoice's own render, queued when it was issued
        with django_capture_on_commit_callbacks(execute=True):
            note = credit_line(invoice)
        assert queued() == [(documents.CREDIT_NOTE_TASK, (doc_world.org.pk, note.pk))]
        [sha] = run_render_tasks()
        doc = StoredDocument.objects.get(kind="credit_note", customer=doc_world.customer)
        assert sha == doc.sha256 == hashlib.sha256(bytes(doc.content)).hexdigest()
        assert doc.invoice_id == invoice.pk and doc.filename == f"credit-note-{note.number}.pdf"
        newest = StoredDocument.objects.filter(invoice=invoice, kind="invoice").latest("created_at")
        assert newest.pk != first.pk and "Credited 58.80 EUR" in squash(pdf_text(newest.content))
    text = squash(pdf_text(doc.content))
    for expected in ("CREDIT NOTE", note.number, f"Credits invoice {invoice.number}", "Contoso Trading GmbH",
                     "Northwind Tools Ltd", "Hosting", "49.00 EUR", "Net 49.00 EUR", "Tax 9.80 EUR",
                     "Total credited 58.80 EUR", "Returned: damaged in transit"):
        assert expected in text, expected
    assert "credit to contoso trading gmbh" in text.lower()  # the buyer block, under its label
    assert "Consulting" not in text  # only the credited line
    assert len(renders) == 2  # the first invoice state and its credited state; the note is not an invoice

    client.force_login(doc_world.viewer)
    url = doc_world.url("credit_note_pdf", pk=note.pk)
    response = client.get(url)
    assert response.status_code == 200 and response.content == bytes(doc.content)
    assert response["ETag"] == f'"{doc.sha256}"'
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    detail = client.get(doc_world.url("credit_note_detail", pk=note.pk))
    assert url.encode() in detail.content
    with doc_world.ctx():
        assert StoredDocument.objects.filter(kind="credit_note").count() == 1


def test_a_standalone_credit_note_gets_its_pdf_on_first_download(doc_world, client, django_capture_on_commit_callbacks):
    with doc_world.ctx():
        with django_capture_on_commit_callbacks(execute=True):
            note = credit_amount(doc_world.customer, Decimal("5.00"), "Goodwill")
        assert queued() == [(documents.CREDIT_NOTE_TASK, (doc_world.org.pk, note.pk))]
        OrmQ.objects.all().delete()  # the worker never ran
    client.force_login(doc_world.viewer)
    response = client.get(doc_world.url("credit_note_pdf", pk=note.pk))
    text = squash(pdf_text(response.content))
    assert note.number in text and "Credit on your account" in text and "Total credited 5.00 EUR" in text
    assert "Credits invoice" not in text
    with doc_world.ctx():
        assert StoredDocument.objects.get(kind="credit_note").sha256 == hashlib.sha256(response.content).hexdigest()


def credit_line(invoice):
    from invoicing.credit_notes import credit_invoice_lines

    hosting = invoice.lines.get(description="Hosting")
    return credit_invoice_lines(invoice, {hosting.pk: Decimal("1")}, "Returned: damaged in transit")


def squash(text: str) -> str:
    return " ".join(text.split())


def pdf_text(content) -> str:
    from tests.documents_helpers import pdf_text_pypdf

    return pdf_text_pypdf(bytes(content))


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_requests_store_one_document_and_render_once(renders):
    from tests.documents_helpers import make_billing_customer, make_billing_org

    org, owner = make_billing_org(name="Race Ltd")
    with tenant_context(org, owner):
        invoice = issued(org, make_billing_customer(org), lines=LINES)
    results = run_at_once(2, lambda _: pdf.stored_invoice_pdf(invoice), org=org, timeout=120)
    assert results[0].pk == results[1].pk and results[0].sha256 == results[1].sha256
    assert len(renders) == 1
    with tenant_context(org):
        assert StoredDocument.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_queueing_after_commit_keeps_the_callers_tenant_context():
    """django-q2's ORM broker closes an obsolete connection before enqueuing in autocommit mode,
    which would drop the session's tenant setting: a second issue in the same context would then
    see no invoice at all."""
    from tests.documents_helpers import make_billing_customer, make_billing_org

    org, owner = make_billing_org(name="Batch Ltd")
    with tenant_context(org, owner):
        customer = make_billing_customer(org)
        drafts = [draft(org, customer, lines=LINES) for _ in range(2)]
        numbers = [issue_invoice(d).number for d in drafts]  # each commit queues a render
        assert current_org_id() == org.pk and len(set(numbers)) == 2
        assert sorted(args for _, args in queued()) == sorted((org.pk, d.pk) for d in drafts)
