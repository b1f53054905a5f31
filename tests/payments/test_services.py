"""Payments services: exact ledger lines, allocation, refunds, reversals, credit, bad input."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.test import override_settings

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.models import JournalEntry
from invoicing.credit_notes import credit_amount
from invoicing.models import Invoice, InvoiceEvent
from ledger_site.tenancy import tenant_context
from payments.allocation import AllocationError, apply, unapply
from payments.models import Allocation, Payment, Refund
from payments.services import (
    DuplicateSubmission,
    PaymentError,
    apply_source,
    apply_unapplied_credit,
    build_plan,
    customer_unapplied_credit,
    open_invoices,
    refund_payment,
    reverse_payment,
    unapply_allocation,
)
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.helpers import check_invariants, entry_lines, key, pay, snapshot

pytestmark = pytest.mark.django_db
TODAY = date.today()
D = Decimal


def inv(org, customer, amount="100.00", days_ago=0, terms=30):
    issue = TODAY - timedelta(days=days_ago)
    return issued(org, customer, [("Work", "1", amount, None)], issue_date=issue,
                  due_date=issue + timedelta(days=terms))


@pytest.fixture
def payments_org():
    org, owner = make_org()
    with tenant_context(org, owner):
        yield org, owner, CustomerFactory(organization=org)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- Exact ledger lines ------------------------------------------------------------------------

def test_receipt_posts_dr_deposit_account_cr_customer_ar(payments_org):
    org, owner, customer = payments_org
    for account in ("bank", "cash", "card"):
        p = pay(org, customer, "75.50", account=account, reference=f"R-{account}", actor=owner, allocation="none")
        assert entry_lines(p.entry_id, org) == {(account, None): D("75.50"), ("ar", customer.pk): D("-75.50")}
        entry = JournalEntry.objects.get(pk=p.entry_id)
        assert (entry.source_type, entry.source_id, entry.effective_date) == ("payments.payment", p.pk, TODAY)
        assert p.unapplied == D("75.50")
    assert ledger.customer_balance(customer) == D("-226.50")
    check_invariants(org)


def test_refund_posts_dr_customer_ar_cr_the_account_and_tracks_amount_refunded(payments_org):
    org, owner, customer = payments_org
    p = pay(org, customer, "300.00", allocation="none")
    acc = system_accounts(org)
    r = refund_payment(p, amount=D("120.00"), refund_date=TODAY, method="bank_transfer", account=acc["bank"],
                       reference="RF-1", idempotency_key=key(), actor=owner)
    assert entry_lines(r.entry_id, org) == {("ar", customer.pk): D("120.00"), ("bank", None): D("-120.00")}
    p = fresh(p)
    assert (p.amount_refunded, p.unapplied) == (D("120.00"), D("180.00"))
    assert ledger.customer_balance(customer) == D("-180.00")
    assert ledger.account_balance(acc["bank"]) == D("180.00")
    check_invariants(org)


def test_reversal_mirrors_the_receipt_unapplies_everything_and_reopens_invoices(payments_org):
    org, owner, customer = payments_org
    a = inv(org, customer, "100.00", days_ago=60)  # due 30 days ago: overdue
    b = inv(org, customer, "50.00")
    p = pay(org, customer, "150.00", reference="CHQ-9", actor=owner)
    assert (fresh(a).display_status, fresh(b).display_status) == ("paid", "paid")
    assert ledger.customer_balance(customer) == 0

    p = reverse_payment(p, reason="cheque returned unpaid", actor=owner)

    assert p.reversed_at and p.reversal_reason == "cheque returned unpaid" and p.amount_allocated == 0
    rev = JournalEntry.objects.get(pk=p.reversal_entry_id)
    assert rev.reverses_id == p.entry_id
    assert entry_lines(rev.pk, org) == {("bank", None): D("-150.00"), ("ar", customer.pk): D("150.00")}
    assert (fresh(a).display_status, fresh(a).amount_due) == ("overdue", D("100.00"))
    assert (fresh(b).display_status, fresh(b).amount_due) == ("open", D("50.00"))
    undo = Allocation.objects.filter(payment=p, amount__lt=0)
    assert sorted(u.amount for u in undo) == [D("-100.00"), D("-50.00")]
    assert all(u.reverses.payment_id == p.pk and u.reason == "cheque returned unpaid" for u in undo)
    assert InvoiceEvent.objects.filter(invoice=a, kind="payment_reversed", message__contains="CHQ-9").exists()
    assert ledger.customer_balance(customer) == D("150.00")
    assert p.unapplied == 0
    check_invariants(org)
    with pytest.raises(PaymentError, match="already reversed"):
        reverse_payment(p, reason="again")
    assert JournalEntry.objects.filter(reverses_id=p.entry_id).count() == 1


def test_reversal_of_a_refunded_payment_is_refused(payments_org):
    org, _, customer = payments_org
    p = pay(org, customer, "80.00", allocation="none")
    refund_payment(p, amount=D("10.00"), refund_date=TODAY, method="cash", account=system_accounts(org)["cash"],
                   idempotency_key=key())
    before = snapshot(org)
    with pytest.raises(PaymentError, match="refunded"):
        reverse_payment(p, reason="bounced")
    assert snapshot(org) == before


# --- Allocation ----------------------------------------------------------------------------------

def test_auto_allocation_pays_oldest_due_first_and_leaves_the_rest_partial(payments_org):
    org, _, customer = payments_org
    newest = inv(org, customer, "100.00", days_ago=0)
    oldest = inv(org, customer, "100.00", days_ago=50)
    middle = inv(org, customer, "100.00", days_ago=20)
    p = pay(org, customer, "150.00")
    assert fresh(oldest).amount_due == 0 and fresh(oldest).display_status == "paid"
    assert fresh(middle).amount_due == D("50.00") and fresh(middle).display_status == "partially_paid"
    assert fresh(newest).amount_due == D("100.00")
    assert (p.amount_allocated, p.unapplied) == (D("150.00"), 0)
    assert [e.kind for e in InvoiceEvent.objects.filter(invoice=oldest).order_by("pk")][-1] == "payment_applied"
    check_invariants(org)


def test_auto_allocation_skips_invoices_on_dispute_hold(payments_org):
    from invoicing.services import set_dispute

    org, _, customer = payments_org
    disputed = inv(org, customer, "100.00", days_ago=50)
    set_dispute(disputed, "wrong quantity")
    other = inv(org, customer, "100.00", days_ago=10)
    pay(org, customer, "60.00")
    assert fresh(disputed).amount_due == D("100.00")
    assert fresh(other).amount_due == D("40.00")


def test_overpayment_leaves_unapplied_credit_shown_as_negative_balance(payments_org):
    org, _, customer = payments_org
    a = inv(org, customer, "100.00")
    p = pay(org, customer, "130.00")
    assert fresh(a).amount_due == 0 and p.unapplied == D("30.00")
    assert customer_unapplied_credit(customer) == D("30.00")
    assert ledger.customer_balance(customer) == D("-30.00")
    check_invariants(org)


def test_manual_allocation_one_payment_many_invoices_and_one_invoice_many_payments(payments_org):
    org, _, customer = payments_org
    a, b = inv(org, customer, "100.00"), inv(org, customer, "200.00")
    p1 = pay(org, customer, "120.00", allocation={a.pk: D("70.00"), b.pk: D("50.00")})
    p2 = pay(org, customer, "40.00", allocation={a.pk: D("30.00")})
    assert fresh(a).amount_due == 0 and fresh(b).amount_due == D("150.00")
    assert set(Allocation.objects.filter(invoice=a).values_list("payment_id", flat=True)) == {p1.pk, p2.pk}
    assert fresh(p2).unapplied == D("10.00")
    check_invariants(org)


def test_deposit_before_any_invoice_is_unapplied_credit_then_applied_on_issue(payments_org):
    org, owner, customer = payments_org
    p = pay(org, customer, "500.00")  # nothing open: all unapplied
    assert p.amount_allocated == 0 and customer_unapplied_credit(customer) == D("500.00")
    note = credit_amount(customer, D("20.00"), "goodwill", issue_date=TODAY - timedelta(days=5))
    invoice = inv(org, customer, "240.00")
    made = apply_unapplied_credit(invoice, actor=owner)
    # Oldest first: the credit note (5 days old) before today's payment.
    assert [(m.credit_note_id, m.payment_id, m.amount) for m in made] == [
        (note.pk, None, D("20.00")), (None, p.pk, D("220.00"))]
    assert fresh(invoice).amount_due == 0
    assert customer_unapplied_credit(customer) == D("280.00")
    assert apply_unapplied_credit(invoice) == []  # nothing due any more
    check_invariants(org)


def test_apply_credit_later_auto_and_manual_then_unapply_one(payments_org):
    org, owner, customer = payments_org
    p = pay(org, customer, "100.00")  # unapplied
    note = credit_amount(customer, D("30.00"), "returned goods")
    a, b = inv(org, customer, "60.00", days_ago=40), inv(org, customer, "60.00", days_ago=10)
    rows = apply_source(p, "auto", actor=owner, idempotency_key=key())
    assert [(r.invoice_id, r.amount) for r in rows] == [(a.pk, D("60.00")), (b.pk, D("40.00"))]
    rows = apply_source(note, {b.pk: D("20.00")}, actor=owner, idempotency_key=key())
    assert fresh(b).amount_due == 0 and fresh(note).unapplied == D("10.00")
    first = Allocation.objects.get(payment=p, invoice=a)
    undo = unapply_allocation(first, "applied to the wrong invoice", actor=owner, idempotency_key=key())
    assert (undo.amount, undo.reverses_id, undo.reason) == (D("-60.00"), first.pk, "applied to the wrong invoice")
    assert fresh(a).amount_due == D("60.00") and fresh(a).display_status == "overdue"
    assert fresh(p).unapplied == D("60.00")
    assert InvoiceEvent.objects.filter(invoice=a, kind="allocation_removed",
                                       message__contains="wrong invoice").exists()
    with pytest.raises(AllocationError, match="already undone"):
        unapply(first, "twice")
    with pytest.raises(AllocationError, match="already undoes"):
        unapply(undo, "undo the undo")
    check_invariants(org)


def test_allocation_rows_are_append_only_in_the_database(payments_org):
    org, _, customer = payments_org
    a = inv(org, customer)
    pay(org, customer, "10.00")
    row = Allocation.objects.get(invoice=a)
    with pytest.raises(DatabaseError), transaction.atomic():
        Allocation.objects.filter(pk=row.pk).update(amount=D("99.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Allocation.objects.filter(pk=row.pk).delete()


def test_plan_preview_shows_new_amounts_due(payments_org):
    org, _, customer = payments_org
    a, b = inv(org, customer, "100.00", days_ago=40), inv(org, customer, "100.00")
    plan = build_plan(open_invoices(customer), D("130.00"), "EUR")
    assert [(r.invoice.pk, r.amount, r.new_due, r.new_status) for r in plan.rows] == [
        (a.pk, D("100.00"), D("0.00"), "paid"), (b.pk, D("30.00"), D("70.00"), "partially_paid")]
    assert plan.remaining == 0 and plan.ok
    manual = build_plan(open_invoices(customer), D("130.00"), "EUR", "manual",
                        {a.pk: D("120.00"), b.pk: D("0.001"), 999999: D("1")})
    assert not manual.ok
    assert "not an open invoice" in manual.errors[0]
    assert "More than the amount due" in manual.rows[0].error and "decimals" in manual.rows[1].error


# --- Idempotency ---------------------------------------------------------------------------------

def test_the_same_key_records_once(payments_org):
    org, _, customer = payments_org
    a = inv(org, customer, "100.00")
    k = key()
    p1 = pay(org, customer, "60.00", idempotency_key=k)
    p2 = pay(org, customer, "60.00", idempotency_key=k)
    assert p1.pk == p2.pk
    assert Payment.objects.filter(organization=org).count() == 1
    assert fresh(a).amount_due == D("40.00")
    assert JournalEntry.objects.filter(organization=org, source_type="payments.payment").count() == 1
    check_invariants(org)


def test_the_same_refund_and_apply_keys_act_once(payments_org):
    org, _, customer = payments_org
    p = pay(org, customer, "100.00")
    acc = system_accounts(org)
    k = key()
    r1 = refund_payment(p, amount=D("10.00"), refund_date=TODAY, method="cash", account=acc["cash"],
                        idempotency_key=k)
    r2 = refund_payment(p, amount=D("10.00"), refund_date=TODAY, method="cash", account=acc["cash"],
                        idempotency_key=k)
    assert r1.pk == r2.pk and fresh(p).amount_refunded == D("10.00")
    a = inv(org, customer, "100.00")
    k = key()
    apply_source(p, {a.pk: D("20.00")}, idempotency_key=k)
    with pytest.raises(DuplicateSubmission):
        apply_source(p, {a.pk: D("20.00")}, idempotency_key=k)
    assert fresh(a).amount_due == D("80.00")
    check_invariants(org)


# --- Bad input: a clear message and nothing changes ----------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"amount": "0"}, "more than zero"),
    ({"amount": "-5.00"}, "more than zero"),
    ({"amount": "10.005"}, "more decimals"),
    ({"currency": "USD"}, "no USD exchange rate"),  # money in another currency: converted, needs a rate (issue 17)
    ({"received_date": TODAY + timedelta(days=4)}, "in the future"),
    ({"account": "revenue"}, "Bank, Cash or Card"),
    ({"method": "bitcoin"}, "payment method"),
    ({"idempotency_key": "x"}, "submission key"),
])
def test_bad_payment_input_is_refused_and_changes_nothing(payments_org, kwargs, message):
    org, _, customer = payments_org
    inv(org, customer)
    before = snapshot(org)
    kwargs = {"amount": "10.00", **kwargs}
    with override_settings(PAYMENT_FUTURE_DAYS=3), pytest.raises(LedgerError, match=message):
        pay(org, customer, kwargs.pop("amount"), **kwargs)
    assert snapshot(org) == before


def test_future_date_within_the_tolerance_is_accepted(payments_org):
    org, _, customer = payments_org
    with override_settings(PAYMENT_FUTURE_DAYS=3):
        p = pay(org, customer, "5.00", received_date=TODAY + timedelta(days=3))
    assert p.received_date == TODAY + timedelta(days=3)
    with override_settings(PAYMENT_FUTURE_DAYS=0), pytest.raises(PaymentError, match="in the future"):
        pay(org, customer, "5.00", received_date=TODAY + timedelta(days=1))


def test_allocating_more_than_the_payment_or_the_amount_due_is_refused(payments_org):
    org, _, customer = payments_org
    a, b = inv(org, customer, "100.00"), inv(org, customer, "100.00")
    before = snapshot(org)
    with pytest.raises(AllocationError, match="More than the amount due"):
        pay(org, customer, "150.00", allocation={a.pk: D("100.01")})
    with pytest.raises(AllocationError, match="more than the"):
        pay(org, customer, "150.00", allocation={a.pk: D("100.00"), b.pk: D("50.01")})
    assert snapshot(org) == before
    p = pay(org, customer, "50.00", allocation="none")
    before = snapshot(org)
    with pytest.raises(AllocationError, match="more than the"):
        apply(a, p, D("50.01"))
    with pytest.raises(AllocationError, match="more than"):
        apply_source(p, {a.pk: D("30.00"), b.pk: D("30.00")})
    with pytest.raises(AllocationError, match="greater than zero"):
        apply(a, p, D("0"))
    assert snapshot(org) == before


def test_allocation_never_makes_an_amount_due_negative_even_bypassing_the_service(payments_org):
    org, _, customer = payments_org
    a = inv(org, customer, "100.00")
    pay(org, customer, "100.00")
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=a.pk).update(amount_due=D("-1.00"), amount_paid=D("101.00"))
    p = pay(org, customer, "10.00")
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=p.pk).update(amount_allocated=D("10.01"))


def test_another_customers_or_organizations_invoice_is_refused(payments_org):
    org, _, customer = payments_org
    other_customer = CustomerFactory(organization=org)
    theirs = inv(org, other_customer, "100.00")
    mine = inv(org, customer, "100.00")
    other_org, other_owner = make_org()
    with tenant_context(other_org, other_owner):
        foreign = inv(other_org, CustomerFactory(organization=other_org), "100.00")
    before = snapshot(org)
    for forged in (theirs.pk, foreign.pk):
        with pytest.raises(AllocationError, match="not an open invoice of this customer"):
            pay(org, customer, "50.00", allocation={forged: D("50.00")})
    p = pay(org, customer, "50.00", allocation="none")
    before = snapshot(org)
    for forged in (theirs.pk, foreign.pk):
        with pytest.raises(AllocationError, match="not an open invoice of this customer"):
            apply_source(p, {forged: D("10.00"), mine.pk: D("10.00")})
        with pytest.raises(AllocationError, match="same customer"):
            apply(Invoice(pk=forged), p, D("10.00"))
    assert snapshot(org) == before


def test_refunding_more_than_the_credit_and_other_bad_refunds_are_refused(payments_org):
    org, _, customer = payments_org
    inv(org, customer, "100.00")
    p = pay(org, customer, "130.00")  # 30.00 unapplied
    acc = system_accounts(org)
    before = snapshot(org)
    cases = [
        ({"amount": D("30.01")}, "more than this payment's unapplied credit"),
        ({"amount": D("0")}, "more than zero"),
        ({"account": acc["revenue"]}, "Bank, Cash or Card"),
        ({"refund_date": TODAY + timedelta(days=30)}, "in the future"),
        ({"refund_date": TODAY - timedelta(days=1)}, "before the payment"),
    ]
    for kwargs, message in cases:
        args = {"amount": D("10.00"), "refund_date": TODAY, "method": "bank_transfer", "account": acc["bank"],
                "idempotency_key": key(), **kwargs}
        with pytest.raises(PaymentError, match=message):
            refund_payment(p, **args)
    assert snapshot(org) == before
    assert Refund.objects.count() == 0


def test_reversal_needs_a_reason_and_a_plausible_date(payments_org):
    org, _, customer = payments_org
    p = pay(org, customer, "10.00", received_date=TODAY - timedelta(days=2))
    before = snapshot(org)
    with pytest.raises(PaymentError, match="Say why"):
        reverse_payment(p, reason="  ")
    with pytest.raises(PaymentError, match="before the payment"):
        reverse_payment(p, reason="bounced", effective_date=TODAY - timedelta(days=3))
    assert snapshot(org) == before


def test_a_reversed_payment_cannot_be_applied_or_refunded(payments_org):
    org, _, customer = payments_org
    p = pay(org, customer, "50.00")
    reverse_payment(p, reason="bounced")
    a = inv(org, customer)
    before = snapshot(org)
    with pytest.raises(AllocationError, match="reversed"):
        apply(a, p, D("10.00"))
    with pytest.raises(PaymentError, match="reversed"):
        refund_payment(p, amount=D("1.00"), refund_date=TODAY, method="cash",
                       account=system_accounts(org)["cash"], idempotency_key=key())
    assert snapshot(org) == before
