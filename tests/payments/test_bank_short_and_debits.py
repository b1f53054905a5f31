"""Issue 16: a short receipt's difference booked as an early-payment discount or a bank fee
(through invoicing.services.write_off, within its tolerance, undone with the match), and debits
matched to refunds and to bounced payments, with the reconciliation's book side counting them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from accounts import ledger
from accounts.chart import system_accounts
from accounts.models import Account
from invoicing.models import Invoice, WriteOff
from invoicing.services import InvoiceError, reverse_write_off, write_off, write_off_kind
from ledger_site.tenancy import tenant_context
from payments.bank import (
    BankError,
    confirm_match,
    confirm_split,
    reconciliation,
    split_plan,
    suggestions_for,
    unmatch_line,
)
from payments.models import Payment
from payments.models_bank import BankLine
from payments.services import refund_payment, reverse_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, import_lines
from tests.payments.helpers import check_invariants, key, pay, snapshot

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date.today()


@pytest.fixture
def short_book():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Acme Trading GmbH")
        yield org, owner, customer, bank_account(org)


def inv(org, customer, amount="500.00", days_ago=10):
    day = TODAY - timedelta(days=days_ago)
    return issued(org, customer, [("Work", "1", amount, None)], issue_date=day, due_date=day + timedelta(days=30))


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def books_match_bank(org, account):
    """Every amount on the Bank account is on a matched line, or listed by the reconciliation as in
    the books and not yet in the bank (payments in, refunds and reversals out)."""
    matched = BankLine.objects.filter(bank_account=account).exclude(status="unmatched")
    total = sum((li.amount for li in matched), D(0))
    rec = reconciliation(account)
    assert ledger.account_balance(account.account, currency="EUR") == rec.book_balance == total + rec.unseen_total
    check_invariants(org)


# --- A short receipt's difference ----------------------------------------------------------------

@pytest.mark.parametrize("kind, code, name", [("bank_fee", "6300", "Bank charges"),
                                              ("discount", "6200", "Discounts allowed")])
def test_short_receipt_books_the_difference_as_a_fee_or_discount(short_book, kind, code, name):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "500.00")
    line, = import_lines(account, [("497.50", "Acme", invoice.number, "B-1")])
    assert not Account.objects.filter(organization=org, code=code).exists()  # made on first use
    best = suggestions_for(line)[0]
    line = confirm_match(line, best.key, actor=owner, settle=kind)
    invoice = fresh(invoice)
    assert (invoice.amount_paid, invoice.amount_written_off, invoice.amount_due) == (D("497.50"), D("2.50"), 0)
    wo = WriteOff.objects.get(invoice=invoice)
    account_row = Account.objects.get(organization=org, code=code)
    assert (account_row.name, account_row.type) == (name, "expense")
    assert ledger.account_balance(account_row, currency="EUR") == D("2.50")
    assert write_off_kind(wo) == kind
    assert wo.reason == f"Paid short on the bank line of {line.booking_date} (Acme): " + (
        "bank fee" if kind == "bank_fee" else "early-payment discount")
    assert line.match_reason.endswith(f"Booked as {'bank fee' if kind == 'bank_fee' else 'early-payment discount'}: "
                                      f"{invoice.number} 2.50 EUR.")
    books_match_bank(org, account)


def test_a_difference_beyond_the_tolerance_is_refused_and_nothing_is_recorded(short_book):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "500.00")  # tolerance: min(25.00, 2 % of 500.00 = 10.00)
    line, = import_lines(account, [("489.99", "Acme", invoice.number, "B-1")])
    best = suggestions_for(line)[0]
    assert best.flags == ["partial"]  # 10.01 short: not a bank fee
    before = snapshot(org)
    with pytest.raises(InvoiceError, match=r"10.01 EUR is too much to book as bank fee \(at most 10.00 EUR on this"):
        confirm_match(line, best.key, actor=owner, settle="bank_fee")
    assert snapshot(org) == before and fresh(line).status == "unmatched"
    assert not WriteOff.objects.filter(organization=org).exists()


def test_the_write_off_service_guards_discounts_and_fees(short_book):
    org, owner, customer, account = short_book
    unpaid = inv(org, customer, "100.00")
    with pytest.raises(InvoiceError, match="nothing was paid on"):
        write_off(unpaid, D("1.00"), "fee", actor=owner, kind="bank_fee")
    paid = inv(org, customer, "100.00")
    pay(org, customer, "98.00", allocation={paid.pk: D("98.00")})
    with pytest.raises(InvoiceError, match=r"Book the whole rest \(2.00 EUR\) as early-payment discount"):
        write_off(fresh(paid), D("1.00"), "discount", actor=owner, kind="discount")
    with pytest.raises(InvoiceError, match="Unknown kind"):
        write_off(fresh(paid), D("2.00"), "x", actor=owner, kind="goodwill")
    with pytest.raises(InvoiceError, match="needs a reason"):
        write_off(fresh(paid), D("2.00"), " ", actor=owner, kind="discount")
    big = inv(org, customer, "2000.00")  # 2 % is 40.00: the 25.00 cap decides
    pay(org, customer, "1974.00", allocation={big.pk: D("1974.00")})
    with pytest.raises(InvoiceError, match="at most 25.00 EUR on this invoice: 25.00 EUR and 2% of the total"):
        write_off(fresh(big), D("26.00"), "fee", actor=owner, kind="bank_fee")
    assert not WriteOff.objects.filter(organization=org).exists()
    wo = write_off(fresh(paid), D("2.00"), "2 % for paying in 10 days", actor=owner, kind="discount")
    assert fresh(paid).amount_due == 0 and write_off_kind(wo) == "discount"
    # Bad debt stays as it was: any part of what is due, to Bad-debt expense.
    bad = write_off(fresh(big), D("10.00"), "gave up on part", actor=owner)
    assert write_off_kind(bad) == "bad_debt"
    assert ledger.account_balance(system_accounts(org)["bad_debt"], currency="EUR") == D("10.00")
    check_invariants(org)


def test_undoing_the_match_reverses_the_payment_and_the_booked_difference(short_book):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "500.00")
    line, = import_lines(account, [("497.50", "Acme", invoice.number, "B-1")])
    line = confirm_match(line, suggestions_for(line)[0].key, actor=owner, settle="bank_fee")
    wo = WriteOff.objects.get(invoice=invoice)
    line = unmatch_line(line, reason="wrong customer", actor=owner)
    invoice = fresh(invoice)
    assert (invoice.amount_paid, invoice.amount_written_off, invoice.amount_due) == (0, 0, D("500.00"))
    back = WriteOff.objects.get(reverses=wo)
    assert back.amount == D("-2.50") and back.entry.reverses_id == wo.entry_id
    fees = Account.objects.get(organization=org, system_key="bank_charges")
    assert ledger.account_balance(fees, currency="EUR") == 0
    assert "undid write-off" in line.events.last().detail
    books_match_bank(org, account)
    # Confirmed again: a new payment key and a new write-off, and the once-only reversal holds.
    line = confirm_match(line, suggestions_for(line)[0].key, actor=owner, settle="discount")
    assert fresh(invoice).amount_due == 0
    with pytest.raises(InvoiceError, match="already undone"):
        reverse_write_off(wo, "again", actor=owner)
    books_match_bank(org, account)


def test_a_write_off_is_reversed_once_the_database_says_so_too(short_book):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "100.00")
    wo = write_off(invoice, D("5.00"), "part", actor=owner)
    back = reverse_write_off(wo, "mistake", actor=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.create(organization=org, invoice=invoice, amount=D("-5.00"), reason="twice",
                                effective_date=TODAY, entry=back.entry, reverses=wo)
    with pytest.raises(IntegrityError), transaction.atomic():  # a negative row must say what it reverses
        WriteOff.objects.create(organization=org, invoice=invoice, amount=D("-5.00"), reason="loose",
                                effective_date=TODAY, entry=back.entry)


def test_remittance_advice_short_rows_booked_as_discount(short_book):
    org, owner, customer, account = short_book
    a, b = inv(org, customer, "300.00"), inv(org, customer, "200.00")
    line, = import_lines(account, [("494.00", "Acme", "see advice", "B-1")])
    advice = f"{a.number} 294.00\n{b.number} 200.00"
    plan = split_plan(line, advice, "en")
    assert plan.ok and [r.short_by for r in plan.rows] == [D("6.00"), 0]
    line = confirm_split(line, advice, "en", expected=plan.allocation, actor=owner, settle="discount",
                         settle_reason="2 % early payment, as agreed")
    assert (fresh(a).amount_due, fresh(b).amount_due) == (0, 0)
    wo = WriteOff.objects.get(invoice=a)
    assert (wo.amount, wo.reason, write_off_kind(wo)) == (D("6.00"), "2 % early payment, as agreed", "discount")
    books_match_bank(org, account)


def test_payment_page_and_bank_line_page_book_a_short_rest():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Acme Trading GmbH")
        account = bank_account(org)
        invoice, other, third = inv(org, customer, "400.00"), inv(org, customer, "400.00"), inv(org, customer, "300.00")
        payment = pay(org, customer, "396.00", allocation={invoice.pk: D("396.00")})
        p2 = pay(org, customer, "300.00", allocation={other.pk: D("300.00")})
        line, = import_lines(account, [("295.00", "Acme", third.number, "B-1")])
    client = Client()
    client.force_login(owner)
    url = f"/o/{org.slug}/payments/{payment.pk}/"
    page = client.get(url).content.decode().replace("\xa0", " ").replace("&nbsp;", " ")
    assert f"Book the 4.00 EUR left open on {invoice.number} as" in page
    r = client.post(url + "settle/", {"invoice": invoice.pk, "kind": "bank_fee", "reason": "their bank's fee"})
    assert r.status_code == 302
    # Beyond the tolerance: not offered, and refused with a clear message, nothing changed.
    assert "left open on" not in client.get(f"/o/{org.slug}/payments/{p2.pk}/").content.decode()
    page = client.post(f"/o/{org.slug}/payments/{p2.pk}/settle/", {"invoice": other.pk, "kind": "discount",
                                                                     "reason": "x"}, follow=True).content.decode()
    assert "100.00 EUR is too much to book as early-payment discount" in page
    # The bank line page: the short suggestion offers the difference as a fee or a discount.
    line_url = f"/o/{org.slug}/payments/bank/lines/{line.pk}/"
    assert 'data-testid="settle"' in client.get(line_url).content.decode()
    client.post(line_url + "confirm/", {"suggestion": f"inv:{third.pk}", "settle": "discount", "reason": ""})
    with tenant_context(org, owner):
        assert fresh(invoice).amount_due == 0
        assert WriteOff.objects.get(invoice=invoice).reason == "their bank's fee"
        assert fresh(other).amount_due == D("100.00")
        assert fresh(third).amount_due == 0 and write_off_kind(WriteOff.objects.get(invoice=third)) == "discount"
        assert fresh(line).status == "matched"
        check_invariants(org)


# --- Debits: refunds and bounced payments --------------------------------------------------------

def test_a_debit_is_matched_to_the_refund_it_is(short_book):
    org, owner, customer, account = short_book
    acc = system_accounts(org)
    payment = pay(org, customer, "80.00", allocation="none", received_date=TODAY - timedelta(days=3))
    refund = refund_payment(payment, amount=D("30.00"), refund_date=TODAY - timedelta(days=1),
                            method="bank_transfer", account=acc["bank"], idempotency_key=key(), reference="RF-OUT-7")
    rec = reconciliation(account)
    assert [(o.what, o.amount) for o in rec.unseen_out] == [("refund", D("-30.00"))]
    assert rec.unseen_total == D("50.00")  # the 80.00 payment in, the 30.00 refund out
    line, = import_lines(account, [("-30.00", "Acme", "RF-OUT-7 refund", "B-9")])
    best = suggestions_for(line)[0]
    assert (best.kind, best.key, best.score) == ("entry", f"entry:{refund.entry_id}", 94)
    assert best.reason == (f"Refund RF-OUT-7 to Acme Trading GmbH of 30.00 EUR, paid {refund.refund_date} (1 day(s) "
                           "from the bank date) from this account, is not yet seen in the bank. Its reference "
                           "appears in the bank text.")
    line = confirm_match(line, best.key, actor=owner)
    assert (line.status, line.entry_id, line.entry_linked) == ("matched", refund.entry_id, True)
    rec = reconciliation(account)
    assert rec.unseen_out == [] and rec.unmatched_lines == []
    assert rec.unseen_total == D("80.00")
    # Undo only unlinks: the refund stands, nothing is reversed.
    head = snapshot(org)["head"]
    line = unmatch_line(line, reason="wrong line", actor=owner)
    assert (line.entry_id, line.entry_linked, snapshot(org)["head"]) == (None, False, head)
    check_invariants(org)


def test_one_refund_is_seen_on_one_debit_line(short_book):
    org, owner, customer, account = short_book
    payment = pay(org, customer, "80.00", allocation="none")
    refund = refund_payment(payment, amount=D("30.00"), refund_date=TODAY, method="bank_transfer",
                            account=system_accounts(org)["bank"], idempotency_key=key())
    first, second = import_lines(account, [("-30.00", "Acme", "refund", "B-1"), ("-30.00", "Acme", "refund", "B-2")])
    confirm_match(first, f"entry:{refund.entry_id}", actor=owner)
    assert suggestions_for(second) == []
    with pytest.raises(BankError, match="no longer applies"):
        confirm_match(second, f"entry:{refund.entry_id}", actor=owner)
    with pytest.raises(IntegrityError), transaction.atomic():  # and the database refuses it too
        BankLine.objects.filter(pk=second.pk).update(entry_id=refund.entry_id, entry_linked=True, status="matched")


def test_a_returned_payment_is_recorded_as_bounced_from_the_debit(short_book):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "121.00")
    credit, = import_lines(account, [("121.00", "Acme", invoice.number, "B-1")], statement_id="S1")
    credit = confirm_match(credit, f"inv:{invoice.pk}", actor=owner)
    debit, = import_lines(account, [("-121.00", "Acme Trading GmbH", "RETURN MS03 no reason given", "B-2")],
                          statement_id="S2")
    best, = suggestions_for(debit)
    assert (best.kind, best.key, best.score, best.action) == ("bounce", f"bounce:{credit.payment_id}", 75, "bounce")
    assert best.reason.startswith("Returned payment? B-1 from Acme Trading GmbH of 121.00 EUR, received ")
    assert best.reason.endswith(", and the debit names it. Confirming records it as bounced: the payment is "
                                "reversed and its invoices are open again.")
    debit = confirm_match(debit, best.key, actor=owner)
    payment = Payment.objects.get(pk=credit.payment_id)
    assert payment.reversed_at and debit.entry_id == payment.reversal_entry_id and debit.entry_linked
    assert payment.reversal_reason.startswith(f"Returned by the bank on {debit.booking_date}: RETURN MS03")
    assert fresh(invoice).amount_due == D("121.00")
    books_match_bank(org, account)  # +121 and -121 matched, the bank account at zero
    rec = reconciliation(account)
    assert (rec.unseen_payments, rec.unseen_out, rec.unmatched_lines) == ([], [], [])
    with pytest.raises(BankError, match="undo that line first"):
        unmatch_line(credit, reason="x", actor=owner)
    unmatch_line(debit, reason="wrong line", actor=owner)  # unlinks; the bounce stays recorded
    assert fresh(payment).reversed_at and fresh(debit).status == "unmatched"
    assert [o.what for o in reconciliation(account).unseen_out] == ["reversed payment"]
    books_match_bank(org, account)


def test_a_bounce_recorded_on_the_payment_page_is_found_by_the_debit(short_book):
    org, owner, customer, account = short_book
    invoice = inv(org, customer, "121.00")
    credit, = import_lines(account, [("121.00", "Acme", invoice.number, "B-1")], statement_id="S1")
    credit = confirm_match(credit, f"inv:{invoice.pk}", actor=owner)
    reverse_payment(Payment.objects.get(pk=credit.payment_id), reason="returned: account closed", actor=owner)
    assert [o.amount for o in reconciliation(account).unseen_out] == [D("-121.00")]
    debit, = import_lines(account, [("-121.00", "Bank", "R-transaction", "B-2")], statement_id="S2")
    best, = suggestions_for(debit)
    assert (best.kind, best.score) == ("entry", 85)
    assert "was seen in the bank and reversed on" in best.reason and "returned: account closed" in best.reason
    client = Client()
    client.force_login(owner)
    rec_url = f"/o/{org.slug}/payments/bank/{account.pk}/reconciliation/"
    page = client.get(rec_url).content.decode()
    assert page.count('data-testid="unseen-out"') == 1 and "reversed payment" in page
    client.post(f"/o/{org.slug}/payments/bank/lines/{debit.pk}/confirm/", {"suggestion": best.key})
    assert 'data-testid="unseen-out"' not in client.get(rec_url).content.decode()
    with tenant_context(org, owner):
        assert fresh(debit).entry_linked and reconciliation(account).unseen_out == []
        books_match_bank(org, account)


def test_a_debit_never_links_another_organizations_refund(short_book):
    org, owner, customer, account = short_book
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        c = CustomerFactory(organization=other)
        p = pay(other, c, "30.00", allocation="none")
        foreign = refund_payment(p, amount=D("30.00"), refund_date=TODAY, method="bank_transfer",
                                 account=system_accounts(other)["bank"], idempotency_key=key())
    line, = import_lines(account, [("-30.00", "X", "refund", "B-1")])
    assert suggestions_for(line) == []
    with pytest.raises(BankError, match="no longer applies"):
        confirm_match(line, f"entry:{foreign.entry_id}", actor=owner)
    assert Invoice.objects.count() == 0
