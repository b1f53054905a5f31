"""Issue 17 item 4: the unrealized revaluation of open foreign-currency balances at a period end, posted
with its automatic reversal on the next day (accounts.revaluation), and its page. A Hypothesis property:
after random invoices and partial payments across currencies and rates, and a revaluation, every entry
balances in both currencies, the receivable is carried at the day's rates, realized + unrealized
differences equal their recomputation from the documents, the reversal restores the booked values, and
the chain verifies."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts import ledger, revaluation
from accounts.chart import system_accounts
from accounts.ledger import LedgerError
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry, JournalLine, Role
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from accounts.money import minor_units, round_money
from accounts.period import close_period
from ledger_site.tenancy import tenant_context
from payments.allocation import apply
from payments.models import Payment
from payments.services import NONE, record_payment
from tests.factories import CustomerFactory, add_member, make_org
from tests.fx.test_realized_property import _entries_balance_in_both
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal


def _rates(org, currency, by_day):
    ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency=currency, day=day, rate=D(rate))
                                      for day, rate in by_day.items()])


def _base(**filters):
    return JournalLine.objects.filter(**filters).aggregate(s=Sum("base_amount"))["s"] or D(0)


UNREALIZED = {"account__system_key__in": ["fx_unrealized_gain", "fx_unrealized_loss"]}


@pytest.fixture
def books():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        today = today_in(org)
        usd = CustomerFactory(organization=org, currency="USD", name="Dollar Co")
        jpy = CustomerFactory(organization=org, currency="JPY", name="Yen KK")
        eur = CustomerFactory(organization=org, currency="EUR", name="Euro GmbH")
        d0, end = today - timedelta(days=20), today - timedelta(days=5)
        _rates(org, "USD", {d0: "0.90", end: "0.95"})
        _rates(org, "JPY", {d0: "0.0062", end: "0.0060"})
        issued(org, usd, lines=(("Work", "1", "1000.00", None),), issue_date=d0)  # 900.00 EUR booked
        issued(org, jpy, lines=(("Work", "1", "100000", None),), issue_date=d0)  # 620.00 EUR booked
        issued(org, eur, lines=(("Work", "1", "500.00", None),), issue_date=d0)
        yield org, owner, end, usd, jpy


def test_the_measure_lists_booked_and_current_values_per_customer(books):
    org, _owner, end, usd, jpy = books
    found = revaluation.measure(org, end)
    rows = {r.customer_name: (r.currency, r.balance, r.booked, r.rate, r.current, r.difference) for r in found.rows}
    assert rows == {"Dollar Co": ("USD", D("1000.00"), D("900.00"), D("0.95"), D("950.00"), D("50.00")),
                    "Yen KK": ("JPY", D("100000"), D("620.00"), D("0.006"), D("600.00"), D("-20.00"))}
    assert found.difference == D("30.00") and found.entry is None
    # A day before the invoices: nothing open, nothing listed.
    assert revaluation.measure(org, end - timedelta(days=30)).rows == []


def test_posting_books_the_differences_and_reverses_them_the_next_day(books):
    org, owner, end, usd, jpy = books
    entry, reversal = revaluation.post(org, end, actor=owner)
    lines = sorted((line.account.system_key, line.currency, line.customer_id, line.amount, line.base_amount)
                   for line in entry.lines.select_related("account"))
    assert lines == sorted([("ar", "USD", usd.pk, D(0), D("50.00")), ("ar", "JPY", jpy.pk, D(0), D("-20.00")),
                            ("fx_unrealized_gain", "USD", None, D(0), D("-50.00")),
                            ("fx_unrealized_loss", "JPY", None, D(0), D("20.00"))])
    assert entry.effective_date == end and reversal.effective_date == end + timedelta(days=1)
    assert reversal.reverses_id == entry.pk
    # On the period end the receivable is carried at that day's rates; from the next day at the booked ones.
    assert _base(customer=usd, effective_date__lte=end) == D("950.00")
    assert _base(customer=jpy, effective_date__lte=end) == D("600.00")
    assert _base(customer=usd) == D("900.00") and _base(customer=jpy) == D("620.00")
    assert _base(**UNREALIZED) == 0 and _base(**UNREALIZED, effective_date__lte=end) == D("-30.00")
    found = revaluation.measure(org, end)
    assert (found.entry, found.reversal) == (entry, reversal)
    assert found.difference == D("30.00")  # the page still shows what was posted, not its own effect
    assert revaluation.measure(org, end + timedelta(days=1)).difference == D("30.00")  # booked again
    _entries_balance_in_both(org)
    assert verify_organization(org).ok


def test_twice_missing_rate_nothing_to_do_and_closed_period_are_refused_and_post_nothing(books):
    org, owner, end, usd, jpy = books
    count = JournalEntry.objects.filter(organization=org).count()
    gap = end - timedelta(days=5)  # the invoices' rates are 10 days old, the period end's not yet published
    with pytest.raises(LedgerError, match=f"no JPY exchange rate for {gap.isoformat()}"):
        revaluation.post(org, gap)
    assert JournalEntry.objects.filter(organization=org).count() == count
    revaluation.post(org, end)
    with pytest.raises(LedgerError, match="already posted"):
        revaluation.post(org, end)
    assert JournalEntry.objects.filter(organization=org).count() == count + 2
    with pytest.raises(LedgerError, match="Nothing to revalue"):
        revaluation.post(org, end - timedelta(days=15))  # the invoices' own day: carried at its rates
    close_period(org, end + timedelta(days=2), actor=owner)
    with pytest.raises(LedgerError):
        revaluation.post(org, end + timedelta(days=1))
    assert JournalEntry.objects.filter(organization=org).count() == count + 2


def test_the_page_lists_the_balances_and_only_an_owner_posts(books):
    org, owner, end, usd, jpy = books
    finance = add_member(org, Role.FINANCE)
    url = reverse("revaluation_report", kwargs={"org_slug": org.slug})
    post_url = reverse("revaluation_post", kwargs={"org_slug": org.slug})
    client = Client()
    client.force_login(finance)
    page = client.get(url, {"date": end.isoformat()})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Dollar Co" in text and "Yen KK" in text and "Euro GmbH" not in text
    assert "950.00 EUR" in text and "900.00 EUR" in text and "30.00 EUR" in text
    assert 'name="post"' not in text
    assert client.post(post_url, {"date": end.isoformat(), "post": "1"}).status_code == 403
    with tenant_context(org, owner):
        assert not JournalEntry.objects.filter(organization=org, idempotency_key=revaluation.key(end)).exists()
    client.force_login(owner)
    assert 'name="post"' in client.get(url, {"date": end.isoformat()}).content.decode()
    response = client.post(post_url, {"date": end.isoformat(), "post": "1"}, follow=True)
    text = response.content.decode()
    assert "Posted" in text and "reversed on" in text
    with tenant_context(org, owner):
        assert JournalEntry.objects.filter(organization=org, idempotency_key=revaluation.key(end)).exists()
    bad = client.get(url, {"date": (end - timedelta(days=5)).isoformat()}).content.decode()
    assert "There is no JPY exchange rate" in bad


# --------------------------------------------------------------------------- the property

DAYS = 30
op = st.one_of(
    st.tuples(st.just("invoice"), st.sampled_from(["USD", "JPY", "KWD"]), st.integers(1, 500_000),
              st.integers(0, 3)),
    st.tuples(st.just("pay"), st.sampled_from(["USD", "JPY", "KWD"]), st.sampled_from(["EUR", "USD", "GBP"]),
              st.integers(1, 100), st.integers(0, 3)),
)
RANGE = {"USD": (800_000, 1_100_000), "JPY": (5_000, 7_500), "KWD": (2_700_000, 3_200_000),
         "GBP": (1_100_000, 1_250_000)}


def _series(code):
    low, high = RANGE[code]
    return st.lists(st.integers(low, high).map(lambda n: D(n).scaleb(-6)), min_size=DAYS + 1, max_size=DAYS + 1)


def _run(rates, ops, end_offset):
    with transaction.atomic():
        org, owner = make_org(base_currency="EUR")
        with tenant_context(org, owner):
            today = today_in(org)
            start = today - timedelta(days=DAYS)
            ExchangeRate.objects.bulk_create([
                ExchangeRate(organization=org, currency=code, day=start + timedelta(days=n), rate=rate)
                for code, series in rates.items() for n, rate in enumerate(series)])
            customers = {code: CustomerFactory(organization=org, currency=code) for code in ("USD", "JPY", "KWD")}
            bank = system_accounts(org)["bank"]
            day, invoices = start, {code: [] for code in customers}
            for step in ops:
                day = min(today, day + timedelta(days=step[-1]))
                if step[0] == "invoice":
                    code = step[1]
                    price = D(step[2]).scaleb(-minor_units(code))
                    invoices[code].append(issued(org, customers[code], lines=(("Work", "1", str(price), None),),
                                                 issue_date=day))
                elif invoices[step[1]]:
                    code, money, percent = step[1], step[2], step[3]
                    invoice = invoices[code][-1]
                    invoice.refresh_from_db()
                    q = D(1).scaleb(-minor_units(code))
                    part = max(q, (invoice.amount_due * percent / 100).quantize(q)) if invoice.amount_due else 0
                    if not part or day < invoice.issue_date:
                        continue
                    if money != code:  # received in another currency: the amount of it that pays `part`
                        cross = rates[money][(day - start).days] if money != "EUR" else D(1)
                        cross = (cross / rates[code][(day - start).days]).quantize(D("1e-12"))
                        part = (part / cross).quantize(D(1).scaleb(-minor_units(money)))
                        if round_money(part * cross, code) <= 0:
                            continue
                    payment = record_payment(org, customers[code], amount=part, currency=money, received_date=day,
                                             method="bank_transfer", deposit_account=bank, allocation=NONE,
                                             idempotency_key=ledger.new_idempotency_key())
                    payment = Payment.objects.get(pk=payment.pk)
                    usable = min(payment.unapplied, invoice.amount_due)
                    if usable > 0:
                        apply(invoice, payment, usable, effective_date=day)
            end = today - timedelta(days=end_offset)
            _check(org, owner, customers, rates, start, end)
        transaction.set_rollback(True)


def _check(org, owner, customers, rates, start, end):
    fx_accounts = {"account__system_key__in": ["fx_gain", "fx_loss", "fx_unrealized_gain", "fx_unrealized_loss"]}
    try:
        revaluation.post(org, end, actor=owner)
        event("revalued")
    except revaluation.RevaluationError as e:
        assert "Nothing to revalue" in str(e)
        event("nothing to revalue")
    _entries_balance_in_both(org)
    with connection.cursor() as c:  # conversion account zero in base
        c.execute("SELECT coalesce(sum(base_amount), 0) FROM accounts_journalline l JOIN accounts_account a "
                  "ON a.id = l.account_id WHERE a.system_key = 'fx_conversion' AND l.organization_id = %s", [org.pk])
        assert c.fetchone()[0] == 0
    invoiced, received, current = D(0), D(0), D(0)
    for code, customer in customers.items():
        lines = JournalLine.objects.filter(customer=customer, effective_date__lte=end)
        balance = lines.aggregate(s=Sum("amount"))["s"] or D(0)
        worth = round_money(balance * rates[code][(end - start).days], "EUR")
        # On the period end every customer is carried at the day's rate (nothing was left unrevalued).
        assert (lines.aggregate(s=Sum("base_amount"))["s"] or D(0)) == worth
        current += worth
        documents = JournalLine.objects.filter(customer=customer, effective_date__lte=end,
                                               entry__source_type__in=["invoicing.invoice", "payments.payment"])
        invoiced += documents.filter(amount__gt=0).aggregate(s=Sum("base_amount"))["s"] or D(0)
        received -= documents.filter(amount__lt=0).aggregate(s=Sum("base_amount"))["s"] or D(0)
    # Realized + unrealized gains (credit, so negated) = what the open balance is worth now + what was
    # received − what was invoiced, all in base: a recomputation from the documents and the day's rates.
    assert -_base(effective_date__lte=end, **fx_accounts) == current + received - invoiced
    # From the next day, the reversal leaves the realized part only.
    assert _base(**UNREALIZED) == 0
    result = verify_organization(org)
    assert result.ok, result.problems


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data(), ops=st.lists(op, min_size=3, max_size=14), end_offset=st.integers(0, 6))
def test_revaluation_carries_the_receivable_at_the_days_rate_and_sums_with_realized_to_the_recomputation(
        data, ops, end_offset):
    rates = {code: data.draw(_series(code)) for code in RANGE}
    _run(rates, ops, end_offset)
