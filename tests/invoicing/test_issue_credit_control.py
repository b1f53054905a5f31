"""Credit control on issuing (issue 6 item 7): issue_invoice refuses an invoice that takes the customer
over its credit limit, or a customer with invoices long overdue, unless an owner overrides with a
reason; the override is on the invoice's timeline and in reports' CreditOverride audit rows.
The rule itself is tested in tests/reports/test_credit_pnl.py."""

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.credit_terms import owner_edit, set_overdue_days
from accounts.models import Customer, JournalEntry
from invoicing import services
from invoicing.credit_control import CreditLimitExceeded, credit_check
from invoicing.models import CreditOverride, Invoice, InvoiceEvent, InvoiceStatus, NumberSeries
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from reminders.late_fees import charge_late_fee
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db
D = Decimal


def untaxed(amount):
    return (("Work", "1", amount, None),)


@pytest.fixture
def limited(acme):
    """Bluebird Bakery: limit 1,000.00, owing 800.00 (issued by system code, not checked)."""
    with acme.ctx():
        with owner_edit(acme.org, acme.owner):  # the owner's decision (accounts.credit_terms)
            Customer.objects.filter(pk=acme.customer.pk).update(credit_limit=D("1000.00"))
        first = issued(acme.org, acme.customer, untaxed("800.00"))
        big = draft(acme.org, acme.customer, untaxed("500.00"))
    return first, big


def state(acme, invoice):
    """What a refused issue must leave untouched."""
    with acme.ctx():
        inv = Invoice.objects.get(pk=invoice.pk)
        return (inv.status, inv.number, inv.issue_entry_id,
                NumberSeries.objects.get(organization=acme.org, kind="invoice").last_number,
                JournalEntry.objects.filter(organization=acme.org).count(),
                CreditOverride.objects.count(), InvoiceEvent.objects.filter(kind="credit_override").count())


def test_finance_is_refused_and_nothing_changes(acme, limited):
    _, big = limited
    before = state(acme, big)
    assert before[:3] == (InvoiceStatus.DRAFT, None, None) and before[3:] == (1, 1, 0, 0)
    with acme.ctx():
        with pytest.raises(CreditLimitExceeded) as refused:
            issue_invoice(big, actor=acme.finance)
        check = refused.value.check
        assert (check.credit_limit, check.balance, check.extra_amount, check.over_limit_by) == \
            (D("1000.00"), D("800.00"), D("500.00"), D("300.00"))
        assert "over its credit limit of 1,000.00 EUR by 300.00 EUR" in refused.value.messages[0]
        assert "An owner must approve it" in refused.value.messages[0]
        with pytest.raises(CreditLimitExceeded, match="Only an owner"):
            issue_invoice(big, actor=acme.finance, credit_override="They always pay")
    assert state(acme, big) == before  # no number taken, no ledger entry, no audit row


def test_owner_needs_a_reason(acme, limited):
    _, big = limited
    before = state(acme, big)
    with acme.ctx():
        with pytest.raises(CreditLimitExceeded, match="over its credit limit"):
            issue_invoice(big, actor=acme.owner)  # the plain Issue button: no override asked for
        with pytest.raises(CreditLimitExceeded, match="needs a reason"):
            issue_invoice(big, actor=acme.owner, credit_override="   ")
        with pytest.raises(CreditLimitExceeded, match="within 500 characters"):
            issue_invoice(big, actor=acme.owner, credit_override="x" * 501)
    assert state(acme, big) == before


def test_owner_with_a_reason_issues_and_the_override_is_recorded(acme, limited):
    _, big = limited
    with acme.ctx():
        inv = issue_invoice(big, actor=acme.owner, credit_override="  Paying 2,000 on Friday, agreed by phone ")
        assert inv.status == InvoiceStatus.ISSUED and inv.number and inv.issue_entry_id
        override = CreditOverride.objects.get()
        assert (override.invoice_id, override.customer_id, override.approved_by, override.reason) == \
            (inv.pk, acme.customer.pk, acme.owner, "Paying 2,000 on Friday, agreed by phone")
        assert (override.amount, override.balance, override.credit_limit) == (D("500.00"), D("800.00"),
                                                                              D("1000.00"))
        kinds = list(inv.events.values_list("kind", flat=True))
        assert kinds[-2:] == ["credit_override", "issued"]  # approved, then issued
        event = inv.events.get(kind="credit_override")
        assert event.actor == acme.owner
        assert event.message == (f"Credit limit overridden by {acme.owner} (over the limit of 1,000.00 EUR by "
                                 "300.00 EUR): Paying 2,000 on Friday, agreed by phone")


def test_within_the_limit_issues_without_a_prompt_and_costs_no_query_of_its_own(acme, limited):
    with acme.ctx():
        small = draft(acme.org, acme.customer, untaxed("150.00"))  # 950.00 against 1,000.00
        same = draft(acme.org, acme.customer, untaxed("1.00"))
        with CaptureQueriesContext(connection) as checked:
            assert issue_invoice(small, actor=acme.finance).status == InvoiceStatus.ISSUED
        with CaptureQueriesContext(connection) as unchecked:
            issue_invoice(same, actor=acme.finance, credit_control=False)
        assert not CreditOverride.objects.exists()
        assert not InvoiceEvent.objects.filter(kind="credit_override").exists()
        # Now at 951.00: exactly at the limit is still within it.
        exact = draft(acme.org, acme.customer, untaxed("49.00"))
        assert issue_invoice(exact, actor=acme.finance).status == InvoiceStatus.ISSUED
    # The figures come with the draft, in issuing's first round trip (invoicing.issuing.load_draft).
    assert len(checked) == len(unchecked)


def test_no_limit_means_no_limit_check(acme):
    with acme.ctx():
        issued(acme.org, acme.customer, untaxed("250000.00"))
        inv = issue_invoice(draft(acme.org, acme.customer, untaxed("99000.00")), actor=acme.finance)
        assert inv.status == InvoiceStatus.ISSUED and not CreditOverride.objects.exists()


def test_long_overdue_invoices_block_too_and_the_override_says_so(acme):
    """The second rule of invoicing.credit_control: invoices overdue by more than 60 days (default)."""
    today = timezone.localdate()
    with acme.ctx():
        issued(acme.org, acme.customer, untaxed("120.00"), issue_date=today - timedelta(days=100),
               due_date=today - timedelta(days=70))
        with pytest.raises(CreditLimitExceeded, match="overdue by more than 60 days"):
            issue_invoice(draft(acme.org, acme.customer, untaxed("10.00")), actor=acme.finance)
        inv = issue_invoice(draft(acme.org, acme.customer, untaxed("10.00")), actor=acme.owner,
                            credit_override="Old invoice is disputed")
        assert inv.events.get(kind="credit_override").message == (
            f"Credit control overridden by {acme.owner} (120.00 EUR overdue by more than 60 days): "
            "Old invoice is disputed")


def test_the_organizations_own_overdue_threshold_and_the_cutoff_day(acme):
    """Issuing reads the organization's threshold (accounts.credit_terms), and the cutoff is
    strict: due exactly `days` ago is not yet beyond it, one day more is (the issuing statement's
    index-bounded scan must draw the same line as the rule's own statement)."""
    today = timezone.localdate()
    with acme.ctx():
        set_overdue_days(acme.org, 10, actor=acme.owner)
        issued(acme.org, acme.customer, untaxed("70.00"), issue_date=today - timedelta(days=40),
               due_date=today - timedelta(days=10))
        assert issue_invoice(draft(acme.org, acme.customer, untaxed("1.00")), actor=acme.finance).number
        assert credit_check(acme.customer).ok
        issued(acme.org, acme.customer, untaxed("30.00"), issue_date=today - timedelta(days=41),
               due_date=today - timedelta(days=11))
        assert not credit_check(acme.customer).ok
        with pytest.raises(CreditLimitExceeded, match="30.00 EUR overdue by more than 10 days"):
            issue_invoice(draft(acme.org, acme.customer, untaxed("1.00")), actor=acme.finance)


def test_late_fees_and_system_issuing_are_not_blocked(acme, limited):
    """A late fee is owed under terms already agreed, whatever the limit; system code has nobody to ask."""
    today = timezone.localdate()
    with acme.ctx():
        # An issued invoice is frozen (its dates too): this one is issued 120 days ago, by system code.
        first = issued(acme.org, acme.customer, untaxed("800.00"), issue_date=today - timedelta(days=120),
                       due_date=today - timedelta(days=90))
        for actor in (None, acme.finance):  # the scheduler, and a person sending a reminder
            charge = charge_late_fee(first, 90 if actor else 60, D("40.00"), today, actor=actor)
            assert charge.fee_invoice.status == InvoiceStatus.ISSUED
        assert issued(acme.org, acme.customer, untaxed("5000.00")).status == InvoiceStatus.ISSUED  # actor=None
        assert not CreditOverride.objects.exists()
        # ... while a person issuing an ordinary invoice is still stopped.
        with pytest.raises(CreditLimitExceeded):
            issue_invoice(draft(acme.org, acme.customer, untaxed("1.00")), actor=acme.finance)


@pytest.mark.django_db(transaction=True)
def test_two_invoices_issued_at_once_cannot_both_pass_against_the_same_balance(monkeypatch):
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, credit_limit=D("1000.00"))
        issued(org, customer, untaxed("500.00"))
        drafts = [draft(org, customer, untaxed("300.00")) for _ in range(2)]  # each fits alone, not both
    passed = threading.Barrier(2)
    take_number = services.take_number

    def take_number_once_both_passed(*args):
        # Past the check: wait (at most 2 s) for the other issue to get past it too. Without the
        # customer lock both would, and both would then be issued.
        with contextlib.suppress(threading.BrokenBarrierError):
            passed.wait(timeout=2)
        return take_number(*args)

    monkeypatch.setattr(services, "take_number", take_number_once_both_passed)

    # Dated in different years, so that they take numbers from different series: the series row's
    # lock must not be what serializes them.
    today = timezone.localdate()
    dates = [today, today - timedelta(days=366)]  # always another year, 29 February included

    def issue(i):
        try:
            issue_invoice(drafts[i], actor=owner, issue_date=dates[i])
        except CreditLimitExceeded:
            return "refused"
        return "issued"

    outcomes = run_at_once(2, issue, org=org, actor=owner, timeout=60)
    assert sorted(outcomes) == ["issued", "refused"]
    with tenant_context(org, owner):
        assert customer.balances.get().amount == D("800.00")


# --- the invoice page ---------------------------------------------------------------------------

def figures(html):
    return all(f in html for f in ("1,000.00 EUR", "800.00 EUR", "500.00 EUR", "300.00 EUR"))


def test_finance_sees_the_warning_and_cannot_issue(acme, limited):
    _, big = limited
    before = state(acme, big)
    client = acme.client(acme.finance)
    html = client.get(acme.url("invoice_detail", pk=big.pk)).content.decode()
    assert 'id="credit-warning"' in html and figures(html)
    assert "An owner must approve it" in html
    assert 'id="issue-invoice"' not in html and 'name="credit_override"' not in html
    page = client.post(acme.url("invoice_issue", pk=big.pk), follow=True).content.decode()
    assert "over its credit limit of 1,000.00 EUR by 300.00 EUR" in page and "An owner must approve it" in page
    forged = client.post(acme.url("invoice_issue", pk=big.pk), {"credit_override": "trust me"}, follow=True)
    assert "Only an owner can override credit control." in forged.content.decode()
    assert state(acme, big) == before


def test_owner_overrides_from_the_page(acme, limited):
    _, big = limited
    before = state(acme, big)
    client = acme.client(acme.owner)
    url = acme.url("invoice_issue", pk=big.pk)
    html = client.get(acme.url("invoice_detail", pk=big.pk)).content.decode()
    assert figures(html) and 'id="issue-invoice"' not in html
    form = html[html.index('class="credit-override"') - 200:html.index('id="issue-anyway"')]
    assert f'method="post" action="{url}"' in form and "data-confirm=" in form
    assert '<textarea name="credit_override"' in form and "required" in form
    assert client.get(url).status_code == 405 and state(acme, big) == before  # never on GET
    empty = client.post(url, {"credit_override": ""}, follow=True).content.decode()
    assert "An override needs a reason." in empty and state(acme, big) == before
    done = client.post(url, {"credit_override": "Director <b>approved</b>"}, follow=True).content.decode()
    assert "issued." in done and 'id="credit-warning"' not in done
    assert "Credit override" in done and "Director &lt;b&gt;approved&lt;/b&gt;" in done  # escaped
    with acme.ctx():
        assert Invoice.objects.get(pk=big.pk).status == InvoiceStatus.ISSUED
        assert CreditOverride.objects.get().reason == "Director <b>approved</b>"


def test_no_warning_within_the_limit_nor_for_viewers(acme, limited):
    _, big = limited
    with acme.ctx():
        small = draft(acme.org, acme.customer, untaxed("100.00"))
    html = acme.client(acme.finance).get(acme.url("invoice_detail", pk=small.pk)).content.decode()
    assert 'id="issue-invoice"' in html and 'id="credit-warning"' not in html
    html = acme.client(acme.viewer).get(acme.url("invoice_detail", pk=big.pk)).content.decode()
    assert 'id="credit-warning"' not in html and 'id="issue-invoice"' not in html
