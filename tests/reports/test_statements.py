"""Customer statements: balance forward identity, open item totals, PDF text, e-mail, bulk job."""

import io
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from accounts.ledger import customer_balance
from accounts.models import Role
from invoicing.models_documents import EmailDelivery, StoredDocument
from ledger_site.tenancy import tenant_context
from reports import statements
from reports.models import StatementRun, StatementRunItem
from reports.tasks import run_statements, start_run
from tests.factories import CustomerFactory, add_member, make_org
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def statement_book():
    org, owner = make_org(name="Statement Co", slug="statement-co", address="1 Quay\nDublin", tax_id="IE99")
    with tenant_context(org):
        a = CustomerFactory(organization=org, name="Acme Stores", code="ACME", billing_emails="ap@acme.example",
                            billing_address="5 Main St\nCork")
        old = h.invoice(org, a, "300.00", h.ago(120), h.ago(90))  # before the period
        h.pay(org, a, "100.00", h.ago(100), {old: "100.00"})
        i1 = h.invoice(org, a, "500.00", h.ago(50), h.ago(20))
        i2 = h.invoice(org, a, "80.00", h.ago(40), h.ago(10))
        p = h.pay(org, a, "250.00", h.ago(30), {i1: "250.00"})
        h.credit(i2, "30.00", h.ago(25))
        h.write_off(old, "20.00", h.ago(15))
        p2 = h.pay(org, a, "60.00", h.ago(12))
        h.refund(p2, "10.00", h.ago(8))
        i3 = h.invoice(org, a, "45.00", h.ago(6), h.ago(-24))
        h.void(i3, h.ago(5))
        h.reverse(p, h.ago(4))
        h.invoice(org, a, "70.00", h.ago(-1), h.ago(-31))  # after the period end (tomorrow)
    return {"org": org, "owner": owner, "a": a, "i1": i1}


def test_balance_forward_opening_plus_transactions_is_closing_is_balance(statement_book):
    a = statement_book["a"]
    with tenant_context(statement_book["org"]):
        st = statements.build(a, statements.BALANCE_FORWARD, h.ago(60), h.ago(1))
        assert st.opening == customer_balance(a, h.ago(61)) == D("200.00")  # 300 − 100
        assert st.opening + st.total_debits - st.total_credits == st.closing == customer_balance(a, h.ago(1))
        kinds = [line.kind for line in st.lines]
        assert kinds == ["invoice", "invoice", "payment", "credit", "write-off", "payment", "refund", "invoice",
                         "void", "reversal"]
        # 200 + 500 + 80 − 250 − 30 − 20 − 60 + 10 + 45 − 45 + 250 = 680
        assert st.closing == D("680.00")
        assert st.lines[-1].balance == st.closing
        assert st.lines[0].due_date == h.ago(20)


def test_open_item_statement_totals_to_the_same_balance(statement_book):
    a = statement_book["a"]
    with tenant_context(statement_book["org"]):
        st = statements.build(a, statements.OPEN_ITEM, h.ago(60), h.ago(1))
        owed = sum((it.amount for it in st.open_invoices), D(0)) - st.unapplied_total
        assert owed == st.closing == customer_balance(a, h.ago(1)) == D("680.00")
        # old 180 open, i1 500 (the reversed payment reopened it), i2 50; unapplied: p2 60 − 10 = 50
        assert sorted(it.amount for it in st.open_invoices) == [D("50.00"), D("180.00"), D("500.00")]
        assert st.unapplied_total == D("50.00")
        assert sum(amount for _label, amount in st.aging) == D("730.00")


def test_statement_pdf_text(statement_book):
    a = statement_book["a"]
    with tenant_context(statement_book["org"]):
        st = statements.build(a, statements.BALANCE_FORWARD, h.ago(60), h.ago(1))
        pdf = statements.render_pdf(st)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Statement of account", "Statement Co", "Acme Stores", "5 Main St", "Balance brought forward",
                     "200.00", "680.00 EUR", "Payment reversed", "Invoice voided", "Closing balance"):
        assert expected in text, expected


def test_open_item_pdf_text(statement_book):
    with tenant_context(statement_book["org"]):
        st = statements.build(statement_book["a"], statements.OPEN_ITEM, h.ago(60), h.ago(1))
        text = PdfReader(io.BytesIO(statements.render_pdf(st))).pages[0].extract_text()
    assert "Open item" in text and statement_book["i1"].number in text and "Balance due" in text and "680.00" in text


def test_statement_email_goes_through_the_invoice_delivery_log(statement_book, django_capture_on_commit_callbacks):
    from invoicing.mail import deliver

    org, a = statement_book["org"], statement_book["a"]
    with tenant_context(org):
        st = statements.build(a, statements.BALANCE_FORWARD, h.ago(60), h.ago(1))
        delivery = statements.email_statement(st, actor=statement_book["owner"])
        assert delivery.kind == "statement" and delivery.customer_id == a.pk and delivery.document.kind == "statement"
        assert deliver(delivery.pk) == "sent"
    message = mail.outbox[-1]
    assert message.to == ["ap@acme.example"] and "Statement of account" in message.subject
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF") and name.startswith("statement-ACME")
    with tenant_context(org):
        assert EmailDelivery.objects.get(pk=delivery.pk).status == "sent"


def test_statement_pages_and_permissions(statement_book):
    org, a = statement_book["org"], statement_book["a"]
    url = reverse("customer_statement", kwargs={"org_slug": org.slug, "pk": a.pk})
    qs = f"?style=balance_forward&start={h.ago(60).isoformat()}&end={h.ago(1).isoformat()}"
    viewer = Client()
    viewer.force_login(add_member(org, Role.VIEWER))
    page = viewer.get(url + qs)
    assert page.status_code == 200 and page.context["st"].closing == D("680.00")
    assert "E-mail this statement" not in page.content.decode()
    pdf = viewer.get(reverse("customer_statement_pdf", kwargs={"org_slug": org.slug, "pk": a.pk}) + qs)
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    email_url = reverse("customer_statement_email", kwargs={"org_slug": org.slug, "pk": a.pk}) + qs
    form = {"recipients": "x@acme.example", "subject": "Your statement", "body": "Attached."}
    assert viewer.post(email_url, form).status_code == 403
    finance = Client()
    finance.force_login(add_member(org, Role.FINANCE))
    assert finance.post(email_url, form).status_code == 302
    assert finance.post(email_url, dict(form, recipients="not an address")).status_code == 302
    with tenant_context(org):
        sent = list(EmailDelivery.objects.filter(kind="statement"))
        assert [d.recipients for d in sent] == [["x@acme.example"]]
        assert StoredDocument.objects.filter(kind="statement", customer=a).exists()


def test_bulk_statements_run_with_progress(statement_book):
    org, owner = statement_book["org"], statement_book["owner"]
    with tenant_context(org):
        nobody = CustomerFactory(organization=org, name="No Mail", code="NOMAIL", billing_emails="")
        h.invoice(org, nobody, "10.00", h.ago(5))
        settled = CustomerFactory(organization=org, name="Settled", code="SETTLED")
        inv = h.invoice(org, settled, "10.00", h.ago(5))
        h.pay(org, settled, "10.00", h.ago(4), {inv: "10.00"})
        run = start_run(org, owner, style=statements.BALANCE_FORWARD, start=h.ago(60), end=h.today(), send=True)
        assert run.total == 2 and run.status == "queued"  # the settled customer has no balance
    assert run_statements(org.pk, run.pk).startswith("2 statements")
    with tenant_context(org):
        run.refresh_from_db()
        assert (run.status, run.done, run.sent, run.skipped, run.failed) == ("done", 2, 1, 1, 0)
        assert set(StatementRunItem.objects.filter(run=run).values_list("outcome", flat=True)) == {"sent", "skipped"}
        assert EmailDelivery.objects.filter(kind="statement", customer=statement_book["a"]).count() == 1
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("statement_run", kwargs={"org_slug": org.slug, "pk": run.pk})).content.decode()
    assert "2 of 2 customers" in page and "100%" in page and 'http-equiv="refresh"' not in page
    # Started from the page: a finance user's POST makes a run; the run's page refreshes itself while queued.
    response = client.post(reverse("statement_bulk_start", kwargs={"org_slug": org.slug}),
                           {"style": "open_item", "start": h.ago(30).isoformat(), "end": h.today().isoformat(),
                            "tag": "", "send": ""})
    assert response.status_code == 302
    with tenant_context(org):
        queued = StatementRun.objects.exclude(pk=run.pk).get()
    assert queued.send is False and queued.total == 2
    assert 'http-equiv="refresh"' in client.get(response["Location"]).content.decode()


def test_demo_hook_leaves_a_finished_statement_run():
    from accounts.management.commands.seed_demo import DEMO_HOOKS
    from reports.demo import seed_demo_reports

    assert seed_demo_reports in DEMO_HOOKS
    org, owner = make_org()
    with tenant_context(org):
        key = CustomerFactory(organization=org, tags="key-account, eu")
        h.invoice(org, key, "12.00", h.ago(3))
        CustomerFactory(organization=org, tags="retail")
        result = seed_demo_reports(org, owner)
        run = StatementRun.objects.get(pk=result["statement_run"])
        assert (run.status, run.total, run.done, run.sent) == ("done", 1, 1, 0)
        assert StoredDocument.objects.filter(kind="statement", customer=key).count() == 1


def test_pdf_footer_shows_names_with_quotes_and_hyphens_verbatim():
    org, _ = make_org(name='Smith & "Sons" </style>')
    with tenant_context(org):
        c = CustomerFactory(organization=org, code="AC-ME")
        h.invoice(org, c, "10.00", h.ago(2))
        st = statements.build(c, statements.BALANCE_FORWARD, h.ago(10), h.today())
        text = PdfReader(io.BytesIO(statements.render_pdf(st))).pages[0].extract_text()
    assert 'Smith & "Sons" </style> · Statement AC-ME' in text


def ink(png) -> float:
    """Share of dark pixels: a blank or a solid-black page is a broken render."""
    from PIL import Image

    image = Image.open(png).convert("L")
    return sum(image.histogram()[:128]) / (image.width * image.height)


def test_report_pdfs_render_to_pages_people_can_look_at(statement_book):
    """The statement (both styles) and the aging PDF as PNGs under <tmp>/ledgerline-pdf-pngs/."""
    from reports import exports
    from reports.aging import AgingQuery, aging
    from tests.documents_helpers import pdf_to_pngs

    org = statement_book["org"]
    with tenant_context(org):
        pdfs = {f"statement-{style}": statements.render_pdf(
            statements.build(statement_book["a"], style, h.ago(60), h.ago(1)))
                for style in (statements.BALANCE_FORWARD, statements.OPEN_ITEM)}
        report = aging(org, AgingQuery(as_of=h.today(), currency="EUR", basis="due", limits=[30, 60, 90]))
        pdfs["aging"] = exports.aging_pdf(report, org)
    for name, pdf in pdfs.items():
        pngs = pdf_to_pngs(pdf, name, resolution=50)
        assert len(pngs) == 1, name
        assert 0.003 < ink(pngs[0]) < 0.3, name
