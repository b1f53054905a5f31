"""Issue 17 item 4: the unrealized revaluation of open foreign-currency balances at a period end, posted
with its automatic reversal on the next day (accounts.revaluation), and its page. A Hypothesis property:
after random invoices and partial payments across currencies and rates, and a revaluation, every entry
balances in both currencies, the receivable is carried at the day's rates, realized + unrealized
differences equal their recomputation from the documents, the reversal restores the booked values, and
the chain verifies."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
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
from accounts.models_fx import ExchangeRate, RevaluationLine
from accounts.models_org import today_in
from accounts.money import minor_units, round_money
from accounts.period import close_period
from ledger_site.tenancy import tenant_context
from payments.allocation import apply
from payments.models import Allocation, Payment
from payments.services import NONE, record_payment
from reports.asof import open_items
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


def _pay(org, customer, amount, day, currency="USD"):
    payment = record_payment(org, customer, amount=D(amount), currency=currency, received_date=day,
                             method="bank_transfer", deposit_account=system_accounts(org)["bank"], allocation=NONE,
                             idempotency_key=ledger.new_idempotency_key())
    return Payment.objects.get(pk=payment.pk)


def test_the_revaluation_is_posted_per_document_and_the_rows_add_up_to_the_entry(books):
    org, owner, end, usd, jpy = books
    mid = end - timedelta(days=3)
    _rates(org, "USD", {mid: "0.92"})
    invoice = usd.invoices.get()
    apply(invoice, _pay(org, usd, "400.00", mid), D("400.00"), effective_date=mid)  # 360 booked, 368 received
    second = issued(org, usd, lines=(("More", "1", "200.00", None),), issue_date=mid)  # 184.00 booked
    _pay(org, usd, "50.00", mid)  # unapplied: −46.00 booked
    found = revaluation.measure(org, end)
    usd_row = next(r for r in found.rows if r.currency == "USD")
    parts = {(d.kind, d.number): (d.amount, d.booked, d.current, d.difference) for d in usd_row.documents}
    assert parts == {("i", invoice.number): (D("600.00"), D("540.00"), D("570.00"), D("30.00")),
                     ("i", second.number): (D("200.00"), D("184.00"), D("190.00"), D("6.00")),
                     ("p", "#" + str(Payment.objects.filter(amount=D("50.00")).get().pk)):
                         (D("-50.00"), D("-46.00"), D("-47.50"), D("-1.50"))}
    assert usd_row.difference == D("34.50")  # = Σ per document, and the ledger's own balance at the rate
    assert usd_row.current == round_money(usd_row.balance * D("0.95"), "EUR")
    entry, _reversal = revaluation.post(org, end, actor=owner)
    stored = revaluation.breakdown(entry)
    assert sorted((r.kind, r.document_id, r.difference) for r in stored) == sorted(
        [("i", invoice.pk, D("30.00")), ("i", second.pk, D("6.00")),
         ("p", Payment.objects.get(amount=D("50.00")).pk, D("-1.50")), ("i", jpy.invoices.get().pk, D("-20.00"))])
    ar = {line.customer_id: line.base_amount for line in entry.lines.filter(account__system_key="ar")}
    assert ar == {usd.pk: D("34.50"), jpy.pk: D("-20.00")}
    assert -_base(entry=entry, **UNREALIZED) == sum(r.difference for r in stored) == D("14.50")
    refused = pytest.raises(DatabaseError, match="permission denied|append-only")
    with connection.cursor() as cursor, refused, transaction.atomic():
        cursor.execute("UPDATE accounts_revaluationline SET difference = 0 WHERE entry_id = %s", [entry.pk])


def test_a_receivable_line_no_document_explains_is_a_row_of_its_own(books):
    """An entry straight to the receivable (a general journal line on the customer) is not lost: it is
    the customer's "o" row, so the rows still add up to what the entry posts for the customer."""
    from accounts.ledger import Line

    org, owner, end, usd, jpy = books
    d0 = end - timedelta(days=15)
    accounts = system_accounts(org)
    ledger.post(org, [Line(accounts["ar"], D("10.00"), usd, "USD", base_amount=D("9.00")),
                      Line(accounts["bank"], D("-10.00"), None, "USD", base_amount=D("-9.00"))],
                effective_date=d0, idempotency_key="manual-ar", memo="by hand")
    usd_row = next(r for r in revaluation.measure(org, end).rows if r.currency == "USD")
    other = [d for d in usd_row.documents if d.kind == "o"]
    assert [(d.amount, d.booked, d.current) for d in other] == [(D("10.00"), D("9.00"), D("9.50"))]
    assert usd_row.difference == D("50.50") == sum(d.difference for d in usd_row.documents)
    entry, _reversal = revaluation.post(org, end, actor=owner)
    assert RevaluationLine.objects.filter(entry=entry, kind="o").get().difference == D("0.50")


def test_the_breakdown_page_previews_then_shows_the_posted_rows(books):
    org, owner, end, usd, jpy = books
    invoice = usd.invoices.get()
    client = Client()
    client.force_login(add_member(org, Role.VIEWER))
    url = reverse("revaluation_documents", kwargs={"org_slug": org.slug})
    text = client.get(url, {"date": end.isoformat()}).content.decode()
    assert 'id="preview"' in text and invoice.number in text and "50.00 EUR" in text and "30.00 EUR" in text
    with tenant_context(org, owner):
        entry, _reversal = revaluation.post(org, end, actor=owner)
    text = client.get(url, {"date": end.isoformat()}).content.decode()
    assert 'id="posted"' in text and f"entry #{entry.seq}" in text and "0.9" in text and "950.00 EUR" in text
    report = client.get(reverse("revaluation_report", kwargs={"org_slug": org.slug}), {"date": end.isoformat()})
    assert 'id="per-document"' in report.content.decode()
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
    _check_documents(org, end, rates, start)
    items = open_items(org, end)
    invoiced, received, current = D(0), D(0), D(0)
    for code, customer in customers.items():
        lines = JournalLine.objects.filter(customer=customer, effective_date__lte=end)
        # On the period end every customer is carried at the day's rate, document by document (each open
        # document's amount at the rate, rounded once; nothing was left unrevalued).
        worth = sum((round_money((it.amount if it.kind == "i" else -it.amount) * rates[code][(end - start).days],
                                 "EUR") for it in items if it.customer_id == customer.pk), D(0))
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


def _check_documents(org, end, rates, start):
    """Σ per document = what the entry posted (per customer and in all), no row beyond the documents
    (the booked values per document add up to the ledger's), and each document's difference is its
    open amount × (the day's rate − its own rate) up to one rounding per booked part."""
    from invoicing.models import Invoice

    found = revaluation.measure(org, end)
    documents = [(r, d) for r in found.rows for d in r.documents]
    assert all(d.kind != "o" for _r, d in documents)
    expected = {(it.kind, it.item_id) for it in open_items(org, end) if it.currency != "EUR"}
    assert {(d.kind, d.document_id) for _r, d in documents} == expected
    for r in found.rows:
        assert r.difference == sum((d.difference for d in r.documents), D(0))
    for row, d in documents:
        day_rate = rates[row.currency][(end - start).days]
        if d.kind == "i":
            own, parts = Invoice.objects.get(pk=d.document_id).fx_rate, Allocation.objects.filter(
                invoice_id=d.document_id).count()
        else:
            own, parts = Payment.objects.get(pk=d.document_id).fx_rate, Allocation.objects.filter(
                payment_id=d.document_id).count()
        assert abs(d.difference - d.amount * (day_rate - own)) <= D("0.005") * (parts + 2) + D("0.000001")
    entry = found.entry
    if entry is None:
        assert found.difference == 0
        return
    stored = RevaluationLine.objects.filter(entry=entry)
    assert sorted((s.customer_id, s.kind, s.document_id, s.difference) for s in stored) == sorted(
        (r.customer_id, d.kind, d.document_id, d.difference) for r, d in documents)
    per_customer = {}
    for s in stored:
        per_customer[s.customer_id] = per_customer.get(s.customer_id, D(0)) + s.difference
    posted = {line.customer_id: line.base_amount for line in entry.lines.filter(account__system_key="ar")}
    assert {k: v for k, v in per_customer.items() if v} == posted
    assert sum(per_customer.values(), D(0)) == -_base(entry=entry, **UNREALIZED)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data(), ops=st.lists(op, min_size=3, max_size=14), end_offset=st.integers(0, 6))
def test_revaluation_carries_the_receivable_at_the_days_rate_and_sums_with_realized_to_the_recomputation(
        data, ops, end_offset):
    rates = {code: data.draw(_series(code)) for code in RANGE}
    _run(rates, ops, end_offset)
