"""Payments pages: recording with preview, the allocation screen, double submits, forged ids,
refund / reverse / un-apply pages, list filters and CSV, the customer panel, the receipt PDF."""

import io
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import ledger
from accounts.chart import system_accounts
from accounts.models import Role
from invoicing.credit_notes import credit_amount
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Allocation, Payment, Refund
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import check_invariants, pay, snapshot

pytestmark = pytest.mark.django_db
TODAY = date.today()
D = Decimal


class Shop:
    def __init__(self):
        self.org, self.owner = make_org()
        self.finance = add_member(self.org, Role.FINANCE)
        self.viewer = add_member(self.org, Role.VIEWER)
        with tenant_context(self.org, self.owner):
            self.customer = CustomerFactory(organization=self.org, name="Acme Ltd")
            self.bank = system_accounts(self.org)["bank"]

    def ctx(self):
        return tenant_context(self.org, self.owner)

    def client(self, user=None):
        c = Client()
        c.force_login(user or self.finance)
        return c

    def url(self, name, **kwargs):
        return reverse(name, kwargs={"org_slug": self.org.slug, **kwargs})

    def invoice(self, amount="100.00", days_ago=0):
        issue = TODAY - timedelta(days=days_ago)
        with self.ctx():
            return issued(self.org, self.customer, [("Work", "1", amount, None)], issue_date=issue,
                          due_date=issue + timedelta(days=30))

    def form(self, **changes):
        data = {"customer": self.customer.pk, "amount": "150.00", "currency": "EUR",
                "received_date": TODAY.isoformat(), "method": "bank_transfer", "deposit_account": self.bank.pk,
                "reference": "TRX-1", "notes": "", "mode": "auto", "idempotency_key": uuid.uuid4().hex,
                "action": "save"}
        data.update(changes)
        return data


@pytest.fixture
def till():
    return Shop()


def due(invoice):
    return Invoice.objects.get(pk=invoice.pk).amount_due


def test_record_a_payment_auto_allocated_through_the_form(till):
    old, new = till.invoice("100.00", days_ago=40), till.invoice("100.00")
    client = till.client()
    response = client.post(till.url("payment_create"), till.form())
    with till.ctx():
        payment = Payment.objects.get(organization=till.org)
        assert response.status_code == 302 and response.url == till.url("payment_detail", pk=payment.pk)
        assert (due(old), due(new)) == (D("0.00"), D("50.00"))
        assert payment.created_by == till.finance and payment.reference == "TRX-1"
        check_invariants(till.org)
    page = client.get(response.url)
    assert "150.00 EUR recorded and applied in full" in page.content.decode()


def test_preview_shows_each_invoices_new_amount_due_and_changes_nothing(till):
    a, b = till.invoice("100.00", days_ago=40), till.invoice("100.00")
    with till.ctx():
        before = snapshot(till.org)
    response = till.client().post(till.url("payment_create"),
                                  till.form(action="preview", mode="manual", **{f"alloc-{a.pk}": "30",
                                                                                f"alloc-{b.pk}": "100"}))
    assert response.status_code == 200
    rows = {r.invoice.pk: r for r in response.context["plan"].rows}
    assert (rows[a.pk].new_due, rows[b.pk].new_due) == (D("70.00"), D("0.00"))
    assert response.context["plan"].remaining == D("20.00")
    html = response.content.decode()
    assert "70.00 EUR" in html and "20.00 EUR" in html
    with till.ctx():
        assert snapshot(till.org) == before


def test_manual_amounts_through_the_form(till):
    a, b = till.invoice("100.00", days_ago=40), till.invoice("100.00")
    response = till.client().post(till.url("payment_create"), till.form(
        amount="90.00", mode="manual", **{f"alloc-{a.pk}": "", f"alloc-{b.pk}": "60.00"}))
    assert response.status_code == 302
    with till.ctx():
        assert (due(a), due(b)) == (D("100.00"), D("40.00"))
        assert Payment.objects.get().unapplied == D("30.00")


def test_double_submit_of_one_rendered_form_records_once(till):
    invoice = till.invoice("100.00")
    data = till.form(amount="40.00")
    client = till.client()
    first = client.post(till.url("payment_create"), data)
    second = client.post(till.url("payment_create"), data, follow=True)
    assert first.status_code == 302
    assert "already recorded" in second.content.decode()
    with till.ctx():
        assert Payment.objects.filter(organization=till.org).count() == 1
        assert due(invoice) == D("60.00")


def test_the_create_page_renders_a_fresh_key_each_time(till):
    client = till.client()
    k1 = client.get(till.url("payment_create")).context["form"]["idempotency_key"].value()
    k2 = client.get(till.url("payment_create")).context["form"]["idempotency_key"].value()
    assert k1 != k2 and len(k1) == 32


@pytest.mark.parametrize(("changes", "message"), [
    ({"amount": "0"}, "greater than zero"),
    ({"amount": "-10"}, "greater than zero"),
    ({"amount": "1.005"}, "more decimals"),
    ({"currency": "USD"}, "pays in EUR"),
    ({"received_date": (TODAY + timedelta(days=30)).isoformat()}, "in the future"),
    ({"mode": "manual", "alloc-999999": "10"}, "not an open invoice of this customer"),
    ({"idempotency_key": "not-a-key"}, "submission key"),
])
def test_bad_input_in_the_form_gives_a_message_and_changes_nothing(till, changes, message):
    till.invoice("100.00")
    with till.ctx():
        before = snapshot(till.org)
    response = till.client().post(till.url("payment_create"), till.form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    with till.ctx():
        assert snapshot(till.org) == before


def test_manual_amounts_above_the_payment_or_the_amount_due_are_refused(till):
    a, b = till.invoice("100.00"), till.invoice("100.00")
    with till.ctx():
        before = snapshot(till.org)
    client = till.client()
    over_due = client.post(till.url("payment_create"), till.form(mode="manual", **{f"alloc-{a.pk}": "100.01"}))
    assert "More than the amount due" in over_due.content.decode()
    over_payment = client.post(till.url("payment_create"), till.form(
        amount="50.00", mode="manual", **{f"alloc-{a.pk}": "30", f"alloc-{b.pk}": "30"}))
    assert "more than the 50.00 EUR available" in over_payment.content.decode()
    with till.ctx():
        assert snapshot(till.org) == before


def test_another_organizations_or_customers_invoice_id_is_refused(till):
    mine = till.invoice("100.00")
    with till.ctx():
        theirs = issued(till.org, CustomerFactory(organization=till.org), [("W", "1", "80.00", None)])
    other_org, other_owner = make_org()
    with tenant_context(other_org, other_owner):
        foreign = issued(other_org, CustomerFactory(organization=other_org), [("W", "1", "80.00", None)])
    with till.ctx():
        before = snapshot(till.org)
    for forged in (theirs.pk, foreign.pk):
        response = till.client().post(till.url("payment_create"), till.form(
            mode="manual", **{f"alloc-{forged}": "50.00", f"alloc-{mine.pk}": "10.00"}))
        assert "not an open invoice of this customer" in response.content.decode()
    with till.ctx():
        assert snapshot(till.org) == before


def test_another_organizations_payment_is_not_found(till):
    other_org, other_owner = make_org()
    with tenant_context(other_org, other_owner):
        theirs = pay(other_org, CustomerFactory(organization=other_org), "10.00")
    client = till.client()
    for name in ("payment_detail", "payment_refund", "payment_reverse", "payment_apply", "payment_receipt"):
        assert client.get(till.url(name, pk=theirs.pk)).status_code == 404


def test_viewer_can_read_but_not_write(till):
    invoice = till.invoice()
    with till.ctx():
        payment = pay(till.org, till.customer, "30.00", allocation="none")
    viewer = till.client(till.viewer)
    assert viewer.get(till.url("payment_list")).status_code == 200
    assert viewer.get(till.url("payment_detail", pk=payment.pk)).status_code == 200
    with till.ctx():
        before = snapshot(till.org)
    assert viewer.get(till.url("payment_create")).status_code == 403
    assert viewer.post(till.url("payment_create"), till.form()).status_code == 403
    assert viewer.post(till.url("payment_reverse", pk=payment.pk), {"reason": "x"}).status_code == 403
    assert viewer.post(till.url("invoice_apply_credit", pk=invoice.pk), {}).status_code == 403
    with till.ctx():
        assert snapshot(till.org) == before
    page = viewer.get(till.url("payment_detail", pk=payment.pk)).content.decode()
    assert "Reverse (bounced)" not in page and "Receipt PDF" in page


def test_reverse_page_confirms_then_reverses_once(till):
    invoice = till.invoice("100.00", days_ago=45)
    with till.ctx():
        payment = pay(till.org, till.customer, "100.00", reference="CHQ-77")
    client = till.client()
    page = client.get(till.url("payment_reverse", pk=payment.pk))
    assert page.status_code == 200 and invoice.number in page.content.decode()
    key = page.context["form"]["idempotency_key"].value()
    data = {"reason": "returned by the bank", "effective_date": TODAY.isoformat(), "idempotency_key": key}
    assert client.post(till.url("payment_reverse", pk=payment.pk), data).status_code == 302
    again = client.post(till.url("payment_reverse", pk=payment.pk), data, follow=True)
    assert "already reversed" in again.content.decode()
    with till.ctx():
        assert Payment.objects.get(pk=payment.pk).reversed_at is not None
        inv = Invoice.objects.get(pk=invoice.pk)
        assert inv.display_status == "overdue" and inv.amount_due == D("100.00")
        assert inv.events.filter(kind="payment_reversed").count() == 1
        check_invariants(till.org)


def test_refund_page(till):
    with till.ctx():
        payment = pay(till.org, till.customer, "80.00", allocation="none")
    client = till.client()
    page = client.get(till.url("payment_refund", pk=payment.pk))
    form = page.context["form"]
    assert form["amount"].value() == D("80.00")
    data = {"amount": "80.01", "refund_date": TODAY.isoformat(), "method": "bank_transfer", "account": till.bank.pk,
            "reference": "RF-9", "notes": "closing the account",
            "idempotency_key": form["idempotency_key"].value()}
    refused = client.post(till.url("payment_refund", pk=payment.pk), data)
    assert "At most the unapplied 80.00 EUR can be refunded" in refused.content.decode()
    data["amount"] = "30.00"
    assert client.post(till.url("payment_refund", pk=payment.pk), data).status_code == 302
    assert client.post(till.url("payment_refund", pk=payment.pk), data).status_code == 302  # the double click
    with till.ctx():
        assert Refund.objects.get().amount == D("30.00")
        assert Payment.objects.get(pk=payment.pk).unapplied == D("50.00")
        assert ledger.customer_balance(till.customer) == D("-50.00")


def test_apply_later_and_unapply_pages(till):
    with till.ctx():
        payment = pay(till.org, till.customer, "70.00", allocation="none")
    a, b = till.invoice("50.00", days_ago=40), till.invoice("50.00")
    client = till.client()
    page = client.get(till.url("payment_apply", pk=payment.pk))
    key = page.context["form"]["idempotency_key"].value()
    assert [r.amount for r in page.context["plan"].rows] == [D("50.00"), D("20.00")]
    data = {"mode": "auto", "idempotency_key": key, "action": "save"}
    assert client.post(till.url("payment_apply", pk=payment.pk), data).status_code == 302
    dup = client.post(till.url("payment_apply", pk=payment.pk), data, follow=True)
    assert "nothing left to apply" in dup.content.decode() or "already submitted" in dup.content.decode()
    with till.ctx():
        assert (due(a), due(b)) == (D("0.00"), D("30.00"))
        allocation = Allocation.objects.get(invoice=a)
    page = client.get(till.url("allocation_unapply", pk=allocation.pk))
    assert page.status_code == 200
    data = {"reason": "wrong invoice", "idempotency_key": page.context["form"]["idempotency_key"].value()}
    assert client.post(till.url("allocation_unapply", pk=allocation.pk), data).status_code == 302
    with till.ctx():
        assert due(a) == D("50.00")
        assert Allocation.objects.filter(reverses=allocation, amount=D("-50.00")).exists()
        check_invariants(till.org)


def test_credit_note_apply_page_and_the_issue_offer(till):
    with till.ctx():
        note = credit_amount(till.customer, D("25.00"), "goodwill")
    invoice = till.invoice("100.00")
    client = till.client()
    page = client.get(till.url("credit_note_apply", pk=note.pk))
    assert page.status_code == 200 and page.context["plan"].total == D("25.00")
    # The offer on an invoice page (an inclusion tag the invoice pages show after issuing).
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.org, request.user = till.org, till.finance
    with till.ctx():
        from accounts.models import Membership

        request.membership = Membership.objects.get(organization=till.org, user=till.finance)
        html = Template("{% load payment_tags %}{% unapplied_credit_offer invoice %}").render(
            Context({"invoice": invoice, "org": till.org, "request": request, "csrf_token": "t"}))
    assert "has 25.00 EUR of unapplied credit" in html and "Apply credit" in html
    response = client.post(till.url("invoice_apply_credit", pk=invoice.pk),
                           {"idempotency_key": uuid.uuid4().hex, "next": "https://evil.example/"})
    assert response.url == till.url("invoice_detail", pk=invoice.pk)  # no open redirect
    with till.ctx():
        assert due(invoice) == D("75.00")
        html = Template("{% load payment_tags %}{% unapplied_credit_offer invoice %}").render(
            Context({"invoice": Invoice.objects.get(pk=invoice.pk), "org": till.org, "request": request}))
    assert "unapplied credit" not in html


def test_list_filters_totals_and_search(till):
    other = None
    with till.ctx():
        other = CustomerFactory(organization=till.org, name="Zeta GmbH")
        pay(till.org, till.customer, "10.00", reference="ALPHA-1", received_date=TODAY - timedelta(days=10))
        pay(till.org, till.customer, "20.00", reference="BETA-2", account="cash", method="cash")
        pay(till.org, other, "40.00", reference="ALPHA-3")
        bounced = pay(till.org, other, "5.00", reference="GAMMA")
        from payments.services import reverse_payment

        reverse_payment(bounced, reason="bounced")
    client = till.client(till.viewer)

    def refs(**params):
        response = client.get(till.url("payment_list"), params)
        return sorted(p.reference for p in response.context["page"]), response.context["totals"]

    assert refs(q="alpha")[0] == ["ALPHA-1", "ALPHA-3"]
    assert refs(customer=other.pk)[0] == ["ALPHA-3", "GAMMA"]
    assert refs(method="cash")[0] == ["BETA-2"]
    assert refs(account=till.bank.pk)[0] == ["ALPHA-1", "ALPHA-3", "GAMMA"]
    assert refs(date_from=(TODAY - timedelta(days=1)).isoformat())[0] == ["ALPHA-3", "BETA-2", "GAMMA"]
    assert refs(date_to=(TODAY - timedelta(days=1)).isoformat())[0] == ["ALPHA-1"]
    assert refs(unapplied="on")[0] == ["ALPHA-1", "ALPHA-3", "BETA-2"]
    _, totals = refs()
    assert totals == [{"currency": "EUR", "count": 4, "received": D("70.00"), "unapplied": D("70.00"),
                       "reversed": 1}]


def test_list_is_paginated(till):
    with till.ctx():
        for n in range(55):
            pay(till.org, till.customer, "1.00", reference=f"P{n:02d}", allocation="none")
    client = till.client()
    first = client.get(till.url("payment_list"))
    second = client.get(till.url("payment_list"), {"page": 2})
    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 5


def test_csv_export_streams_the_filtered_payments(till):
    with till.ctx():
        pay(till.org, till.customer, "12.34", reference="=HYPERLINK(1)")
        pay(till.org, till.customer, "1.00", reference="OTHER", method="cash", account="cash")
    response = till.client(till.viewer).get(till.url("payment_export"), {"method": "bank_transfer"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,received_date,customer_code")
    assert len(lines) == 2
    assert "12.34" in lines[1] and "'=HYPERLINK(1)" in lines[1] and "OTHER" not in lines[1]


def test_customer_page_shows_balance_and_unapplied_credit(till):
    till.invoice("100.00")
    with till.ctx():
        pay(till.org, till.customer, "130.00", reference="OVERPAID")
        credit_amount(till.customer, D("5.00"), "goodwill")
    page = till.client().get(reverse("customer_detail", kwargs={"org_slug": till.org.slug, "pk": till.customer.pk}))
    html = page.content.decode()
    assert 'data-testid="unapplied-credit">35.00 EUR' in html
    with till.ctx():
        assert ledger.customer_balance(till.customer) == D("-35.00")  # shown by the ledger's balance panel
    assert "OVERPAID" in html


def test_receipt_pdf(till):
    from pypdf import PdfReader

    invoice = till.invoice("100.00")
    with till.ctx():
        payment = pay(till.org, till.customer, "120.00", reference="RCPT-TEST")
    response = till.client(till.viewer).get(till.url("payment_receipt", pk=payment.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert f"R-{payment.pk:06d}" in text and "120.00 EUR" in text and invoice.number in text
    assert "20.00 EUR" in text  # the credit remaining
    with till.ctx():
        from payments.services import reverse_payment

        reverse_payment(payment, reason="cheque bounced")
    response = till.client(till.viewer).get(till.url("payment_receipt", pk=payment.pk))
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "REVERSED" in text and "cheque bounced" in text and "No longer applied to any invoice" in text


def test_receipt_renderer_fetches_nothing_outside_the_template(till, tmp_path):
    from payments.receipt import render_receipt

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    with till.ctx():
        payment = pay(till.org, till.customer, "1.00", reference=f'<img src="file://{secret}">')
        fetched = []
        import invoicing.pdf as pdf

        original = pdf.check_url

        def spy(url, *args):
            fetched.append(url)
            return original(url, *args)

        pdf.check_url = spy
        try:
            assert render_receipt(payment).startswith(b"%PDF")
        finally:
            pdf.check_url = original
    assert fetched == []  # the reference is escaped text, not markup: nothing is even asked for


def test_allocation_screen_query_count_does_not_grow_with_open_invoices(till, django_assert_max_num_queries):
    """Pinned: the record-payment screen for a customer with many open invoices (and its Preview)
    reads the invoices in one query; 5 or 40 open invoices cost the same number of queries."""
    client = till.client()
    url = till.url("payment_create") + f"?customer={till.customer.pk}"
    counts = []
    for batch in (5, 35):
        for n in range(batch):
            till.invoice("10.00", days_ago=n)
        client.get(url)  # warm the session
        with django_assert_max_num_queries(QUERY_PIN) as captured:
            response = client.get(url)
        counts.append(len(captured))
        with django_assert_max_num_queries(QUERY_PIN + 2):  # + the chosen customer and account, validated
            preview = client.post(till.url("payment_create"), till.form(action="preview", amount="45.00"))
        assert preview.context["plan"].total == D("45.00")
    assert len(response.context["plan"].rows) == 40
    assert counts[0] == counts[1], counts


QUERY_PIN = 16  # 15 + the bounded count that chooses the customer select or picker (accounts.customer_picker)


def test_allocation_rows_escape_invoice_numbers_and_typed_amounts(till):
    from invoicing.models import InvoiceSettings

    with till.ctx():
        InvoiceSettings.objects.filter(organization=till.org).update(invoice_prefix='<i>"X')
    invoice = till.invoice("10.00")
    assert invoice.number.startswith('<i>"X')
    response = till.client().post(till.url("payment_create"), till.form(
        action="preview", mode="manual", **{f"alloc-{invoice.pk}": '"><script>alert(1)</script>'}))
    html = response.content.decode()
    assert "<script>alert(1)" not in html and '<i>"X' not in html
    assert "&lt;i&gt;&quot;X" in html and "&quot;&gt;&lt;script&gt;" in html
    assert "Type numbers as 1,234.56" in html


def test_invoice_page_offers_unapplied_credit_to_finance(till):
    with till.ctx():  # a deposit, before any invoice exists
        pay(till.org, till.customer, "25.00", reference="DEPOSIT")
    invoice = till.invoice("100.00", days_ago=5)
    page = till.client().get(till.url("invoice_detail", pk=invoice.pk)).content.decode()
    assert "unapplied credit" in page and till.url("invoice_apply_credit", pk=invoice.pk) in page
