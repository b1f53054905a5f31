"""Issue 17 item 3: rates stored on documents and payments, base-currency amounts on every journal
line (balanced in both currencies, sealed by hash version 3), the realized exchange gain or loss
posted at allocation and reversed exactly on un-applying, and a missing rate refused by name."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry, JournalLine
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from invoicing.credit_notes import credit_amount
from invoicing.models import Invoice, InvoiceStatus
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from payments.allocation import apply, realized_entry, unapply
from payments.models import Allocation, Payment
from payments.services import record_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db
D = Decimal


def _rates(org, currency, by_day):
    ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency=currency, day=day, rate=D(rate))
                                      for day, rate in by_day.items()])


def _pay(org, customer, amount, day, allocation="none", key=None):
    return record_payment(org, customer, amount=D(amount), currency=customer.currency, received_date=day,
                          method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                          idempotency_key=key or ledger.new_idempotency_key(),
                          allocation=allocation)


def _base(**filters):
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


def _ar_base(customer):
    return _base(customer=customer)


def _fx_base(org):
    """The realized exchange accounts' base balance (debit positive: a loss)."""
    return _base(account__system_key__in=["fx_gain", "fx_loss"], entry__organization=org)


def _every_entry_balances_in_both(org):
    for entry in JournalEntry.objects.filter(organization=org).prefetch_related("lines"):
        lines = list(entry.lines.all())
        per_currency = {}
        for line in lines:
            per_currency[line.currency] = per_currency.get(line.currency, D(0)) + line.amount
        assert all(v == 0 for v in per_currency.values()), entry
        assert all(line.base_amount is not None for line in lines), entry
        assert sum(line.base_amount for line in lines) == 0, entry


@pytest.fixture
def usd():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="USD", payment_terms_days=30)
        yield org, owner, customer, today_in(org)


def test_same_currency_organization_behaves_as_before(usd):
    org, owner, _usd, today = usd
    customer = CustomerFactory(organization=org, currency="EUR")
    invoice = issued(org, customer, lines=(("Work", "3", "33.33", "19"),))
    payment = _pay(org, customer, "50.00", today, allocation={invoice.pk: D("50.00")})
    assert (invoice.fx_rate, Payment.objects.get(pk=payment.pk).fx_rate) == (1, 1)
    for line in JournalLine.objects.filter(entry__organization=org):
        assert line.base_amount == line.amount
    allocation = Allocation.objects.get(payment=payment)
    assert (allocation.invoice_base, allocation.source_base) == (None, None)
    assert realized_entry(allocation) is None
    unapply(allocation, "typo")
    assert JournalEntry.objects.filter(organization=org).count() == 2  # the issue and the payment, nothing more
    assert verify_organization(org).ok


def test_payment_at_a_better_rate_posts_a_realized_gain_and_unapplying_reverses_it(usd):
    org, owner, customer, today = usd
    _rates(org, "USD", {today - timedelta(days=20): "0.90", today - timedelta(days=5): "0.95"})
    invoice = issued(org, customer, lines=(("Work", "1", "100.00", None),), issue_date=today - timedelta(days=20))
    assert invoice.fx_rate == D("0.9")
    issue_lines = {line.account.system_key: (line.amount, line.base_amount)
                   for line in JournalLine.objects.filter(entry_id=invoice.issue_entry_id).select_related("account")}
    assert issue_lines == {"ar": (D("100.00"), D("90.00")), "revenue": (D("-100.00"), D("-90.00"))}
    payment = _pay(org, customer, "100.00", today - timedelta(days=5), allocation={invoice.pk: D("100.00")})
    assert Payment.objects.get(pk=payment.pk).fx_rate == D("0.95")
    allocation = Allocation.objects.get(payment=payment)
    assert (allocation.invoice_base, allocation.source_base) == (D("90.00"), D("95.00"))
    gain = realized_entry(allocation)
    lines = {line.account.system_key: (line.currency, line.amount, line.base_amount)
             for line in gain.lines.select_related("account")}
    assert lines == {"ar": ("USD", D(0), D("5.00")), "fx_gain": ("USD", D(0), D("-5.00"))}
    assert gain.hash_version == 3 and gain.effective_date == today - timedelta(days=5)
    assert _ar_base(customer) == 0  # settled: nothing left in base on the receivable
    assert _fx_base(org) == D("-5.00")
    assert verify_organization(org).ok

    undo = unapply(allocation, "applied to the wrong invoice")
    assert (undo.invoice_base, undo.source_base) == (D("-90.00"), D("-95.00"))
    reversal = realized_entry(undo)
    assert reversal.reverses_id == gain.pk
    assert _fx_base(org) == 0
    assert _ar_base(customer) == D("-5.00")  # 90 invoiced against 95 received, both open again
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_partial_payments_at_worse_rates_realize_a_loss_and_settle_to_zero_in_base(usd):
    org, owner, customer, today = usd
    d0 = today - timedelta(days=30)
    _rates(org, "USD", {d0: "0.921659", d0 + timedelta(days=5): "0.9012", d0 + timedelta(days=10): "0.88888",
                        d0 + timedelta(days=15): "0.87"})
    invoice = issued(org, customer, lines=(("A", "3", "33.33", "7"), ("B", "1", "0.01", "19")), issue_date=d0)
    total = invoice.total
    parts = [D("10.01"), D("33.33"), total - D("43.34")]
    for n, part in enumerate(parts, start=1):
        _pay(org, customer, str(part), d0 + timedelta(days=5 * n), allocation={invoice.pk: part})
    invoice.refresh_from_db()
    assert invoice.amount_due == 0
    rows = Allocation.objects.filter(invoice=invoice)
    booked = JournalLine.objects.get(entry_id=invoice.issue_entry_id, customer=customer).base_amount
    assert sum(r.invoice_base for r in rows) == booked  # the last part took the rest of the booked value
    assert _ar_base(customer) == 0
    realized = sum(r.invoice_base for r in rows) - sum(r.source_base for r in rows)
    assert realized > 0 and _fx_base(org) == realized  # a loss: debit on "Realized exchange loss"
    assert JournalLine.objects.filter(account__system_key="fx_loss").count() == 3
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_a_credit_note_at_another_rate_realizes_its_difference_too(usd):
    org, owner, customer, today = usd
    _rates(org, "USD", {today - timedelta(days=9): "0.90", today - timedelta(days=2): "0.80"})
    invoice = issued(org, customer, lines=(("Work", "1", "100.00", None),), issue_date=today - timedelta(days=9))
    note = credit_amount(customer, D("40.00"), "goodwill", issue_date=today - timedelta(days=2))
    assert note.fx_rate == D("0.8")
    allocation = apply(invoice, note, D("40.00"), effective_date=today - timedelta(days=2))
    assert (allocation.invoice_base, allocation.source_base) == (D("36.00"), D("32.00"))
    assert _fx_base(org) == D("4.00")  # a loss of 4 EUR
    _every_entry_balances_in_both(org)


def test_a_missing_rate_names_currency_and_day_and_posts_nothing(usd):
    org, owner, customer, today = usd
    invoice = draft(org, customer, lines=(("Work", "1", "100.00", None),))
    with pytest.raises(LedgerError, match=f"There is no USD exchange rate for {today.isoformat()}"):
        issue_invoice(invoice)
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
    assert not JournalEntry.objects.filter(organization=org).exists()
    with pytest.raises(LedgerError, match=f"There is no USD exchange rate for {today.isoformat()}"):
        _pay(org, customer, "10.00", today)
    assert not Payment.objects.filter(organization=org).exists()
    acc = system_accounts(org)
    with pytest.raises(LedgerError, match="Nothing was posted"):
        ledger.post(org, [Line(acc["ar"], D("1.00"), customer), Line(acc["revenue"], D("-1.00"), currency="USD")],
                    effective_date=today, idempotency_key="k")
    assert not JournalEntry.objects.filter(organization=org).exists()


def test_rounding_residue_goes_on_the_largest_line_in_zero_and_three_decimal_currencies(usd):
    org, owner, _customer, today = usd
    acc = system_accounts(org)
    jpy = CustomerFactory(organization=org, currency="JPY")
    flat_rates(org, {"JPY": "0.00615", "KWD": "2.987654"}, start=today - timedelta(days=3), end=today)
    # 3 × 333 JPY at 0.00615: each 2.05 (2.04795), the 999 total 6.14 (6.14385): residue 0.01.
    entry = ledger.post(org, [Line(acc["ar"], D("999"), jpy)] + [Line(acc["revenue"], D("-333"), currency="JPY")] * 3,
                        effective_date=today, idempotency_key="jpy")
    bases = [line.base_amount for line in entry.lines.order_by("line_no")]
    assert bases == [D("6.15"), D("-2.05"), D("-2.05"), D("-2.05")]  # the AR line (largest) took the residue
    kwd = CustomerFactory(organization=org, currency="KWD")
    entry = ledger.post(org, [Line(acc["ar"], D("1.001"), kwd), Line(acc["revenue"], D("-0.334"), currency="KWD"),
                              Line(acc["tax"], D("-0.667"), currency="KWD")], effective_date=today,
                        idempotency_key="kwd")
    bases = [line.base_amount for line in entry.lines.order_by("line_no")]
    assert sum(bases) == 0 and bases[1:] == [D("-1.00"), D("-1.99")] and bases[0] == D("2.99")
    # A thousandth of a dinar is less than half a cent: both lines 0.00 in base (never "-0.00", which the
    # column cannot store and the hash would then not reproduce).
    entry = ledger.post(org, [Line(acc["ar"], D("0.001"), kwd), Line(acc["revenue"], D("-0.001"), currency="KWD")],
                        effective_date=today, idempotency_key="kwd-tiny")
    assert [str(line.base_amount) for line in entry.lines.order_by("line_no")] == ["0.000", "0.000"]
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok


def test_given_base_amounts_that_do_not_balance_are_refused(usd):
    org, owner, customer, today = usd
    flat_rates(org, {"USD": "0.9"}, start=today - timedelta(days=3), end=today)
    acc = system_accounts(org)
    with pytest.raises(LedgerError, match="does not balance in the base currency: EUR off by 0.50"):
        ledger.post(org, [Line(acc["ar"], D(0), customer, base_amount=D("1.00")),
                          Line(acc["revenue"], D(0), currency="USD", base_amount=D("-0.50"))],
                    effective_date=today, idempotency_key="unbalanced")
    with pytest.raises(LedgerError, match="a line cannot be zero"):
        ledger.post(org, [Line(acc["ar"], D(0), customer), Line(acc["revenue"], D(0), currency="USD")],
                    effective_date=today, idempotency_key="zero")
    assert not JournalEntry.objects.filter(organization=org).exists()


def test_writeoff_and_refund_post_at_their_documents_rate(usd):
    org, owner, customer, today = usd
    _rates(org, "USD", {today - timedelta(days=9): "0.90", today - timedelta(days=4): "0.80",
                        today: "0.70"})
    from invoicing.services import write_off
    from payments.services import refund_payment

    invoice = issued(org, customer, lines=(("Work", "1", "100.00", None),), issue_date=today - timedelta(days=9))
    write_off(invoice, D("100.00"), "bankrupt", effective_date=today)
    assert _ar_base(customer) == 0  # written off at the invoice's 0.90, not today's 0.70
    payment = _pay(org, customer, "50.00", today - timedelta(days=4))
    refund_payment(payment, amount=D("50.00"), refund_date=today, method="bank_transfer",
                   account=system_accounts(org)["bank"], idempotency_key="refund-key-1")
    assert _ar_base(customer) == 0
    _every_entry_balances_in_both(org)


def test_pages_show_the_rate_the_base_amounts_and_the_realized_difference(usd):
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Role
    from tests.factories import add_member

    org, owner, customer, today = usd
    _rates(org, "USD", {today - timedelta(days=20): "0.90", today - timedelta(days=5): "0.95"})
    invoice = issued(org, customer, lines=(("Work", "1", "100.00", None),), issue_date=today - timedelta(days=20))
    payment = _pay(org, customer, "100.00", today - timedelta(days=5), allocation={invoice.pk: D("100.00")})
    gain = realized_entry(Allocation.objects.get(payment=payment))
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    page = client.get(reverse("invoice_detail", args=[org.slug, invoice.pk])).content.decode()
    assert "1 USD = 0.9 EUR" in page and 'id="fx-base">90.00 EUR' in page
    page = client.get(reverse("payment_detail", args=[org.slug, payment.pk])).content.decode()
    assert "1 USD = 0.95 EUR" in page and 'id="fx-base">95.00 EUR' in page
    page = client.get(reverse("journal_entry", args=[org.slug, gain.pk])).content.decode()
    assert page.count("exchange difference") == 2 and "Realized exchange gain" in page
    assert '<span class="fx-base">5.00 EUR</span>' in page
    journal = client.get(reverse("journal", args=[org.slug])).content.decode()
    assert "exchange difference" in journal and "= 90.00 EUR" in journal and "= 95.00 EUR" in journal


def test_a_payment_refunded_in_part_then_applied_leaves_no_base_cent_behind(usd):
    """A refund first takes its part at the payment's rate, rounded once; the allocation that then
    spends the rest takes the rest of the receipt's base value (not its own rounded part), so the
    receivable ends at exactly zero in base: at 1 USD = 0.33333 EUR the parts 0.02 + 33.32 would be
    0.01 more than the 33.33 the receipt booked."""
    from payments.services import refund_payment

    org, owner, customer, today = usd
    _rates(org, "USD", {today: "0.33333"})
    invoice = issued(org, customer, lines=(("Work", "1", "99.95", None),), issue_date=today)
    payment = _pay(org, customer, "100.00", today)
    refund_payment(payment, amount=D("0.05"), refund_date=today, method="bank_transfer",
                   account=system_accounts(org)["bank"], idempotency_key="refund-first")
    apply(Invoice.objects.get(pk=invoice.pk), Payment.objects.get(pk=payment.pk), D("99.95"))
    assert Payment.objects.get(pk=payment.pk).unapplied == 0
    assert Invoice.objects.get(pk=invoice.pk).amount_due == 0
    assert _ar_base(customer) == 0  # nothing owed either way, so nothing left in base
    allocation = Allocation.objects.get(payment=payment)
    assert (allocation.invoice_base, allocation.source_base) == (D("33.32"), D("33.31"))
    assert _fx_base(org) == D("0.01")  # the cent lost to rounding is a realized loss, not a residue
    _every_entry_balances_in_both(org)
    assert verify_organization(org).ok
