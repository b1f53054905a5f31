"""Issue 16 item 5: a pasted remittance advice splits one receipt over many invoices; short
payments are flagged and stay open; anything that cannot be applied blocks the plan; confirming
records one payment through the payments service, once."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Role
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.bank import BankError, confirm_split, split_plan
from payments.models import Payment
from payments.models_bank import BankLine
from payments.remittance import parse_advice
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, import_lines
from tests.payments.helpers import check_invariants, pay

D = Decimal
DAY = date.today() - timedelta(days=10)


def inv(org, customer, amount):
    return issued(org, customer, [("Work", "1", amount, None)], issue_date=DAY, due_date=DAY + timedelta(days=30))


@pytest.fixture
def remittance_world(db):
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Acme Trading GmbH")
        a, b, c = inv(org, customer, "1250.00"), inv(org, customer, "1181.50"), inv(org, customer, "400.00")
        yield org, owner, customer, bank_account(org), (a, b, c)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_the_advice_is_read_as_people_write_it():
    rows = parse_advice("Invoice;Amount\nINV-2026-00012;1,250.00\n\n 1,181.50 EUR  inv-2026-00015\n"
                        "INV-2026-00016\tEUR 400\nINV-2026-00017 twelve\n", "en")
    assert [(r.n, r.number, r.amount, bool(r.problem)) for r in rows] == [
        (2, "INV-2026-00012", D("1250.00"), False), (4, "inv-2026-00015", D("1181.50"), False),
        (5, "INV-2026-00016", D("400"), False), (6, "INV-2026-00017", None, True)]
    german, = parse_advice("RE-77 1.250,00", "de")
    assert (german.number, german.amount) == ("RE-77", D("1250.00"))


def test_a_receipt_split_over_three_invoices_with_one_short_is_recorded_as_one_payment(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    line, = import_lines(account, [("2781.50", "ACME TRADING", "see advice", "B-1")])
    advice = f"{a.number} 1,250.00\n{b.number} 1,181.50\n{c.number} 350.00"
    plan = split_plan(line, advice, "en")
    assert plan.ok and plan.allocation == {a.pk: D("1250.00"), b.pk: D("1181.50"), c.pk: D("350.00")}
    assert [r.short_by for r in plan.rows] == [0, 0, D("50.00")] and plan.unapplied == 0
    line = confirm_split(line, advice, "en", expected=plan.allocation, actor=owner)
    payment = Payment.objects.get(pk=line.payment_id)
    assert payment.amount == D("2781.50") and payment.customer_id == customer.pk and line.status == "matched"
    assert [fresh(x).amount_due for x in (a, b, c)] == [0, 0, D("50.00")], "the short part stays open"
    assert f"over {a.number}, {b.number}, {c.number}" in line.match_reason
    check_invariants(org)


def test_less_advised_than_received_leaves_the_rest_as_unapplied_credit(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    line, = import_lines(account, [("1300.00", "ACME", "", "B-2")])
    plan = split_plan(line, f"{a.number} 1250", "en")
    assert plan.ok and plan.unapplied == D("50.00")
    line = confirm_split(line, f"{a.number} 1250", "en", expected=plan.allocation, actor=owner)
    assert Payment.objects.get(pk=line.payment_id).unapplied == D("50.00")


@pytest.mark.parametrize("advice, problem", [
    ("INV-9999-99999 10.00", "no invoice INV-9999-99999 in this organization"),
    ("{a} 10.00\n{a} 5.00", "is listed twice"),
    ("{a} 1300.00", "is more than the 1,250.00 EUR due on"),
    ("{a} 10.005", "minor units"),
    ("{a} 0", "more than zero"),
    ("{a} ten", "no amount on this line"),
    ("{a} 1,5", "is not an amount"),
])
def test_rows_that_cannot_be_applied_block_the_plan_and_nothing_is_recorded(remittance_world, advice, problem):
    org, owner, customer, account, (a, b, c) = remittance_world
    line, = import_lines(account, [("100.00", "ACME", "", "B-3")])
    advice = advice.format(a=a.number)
    plan = split_plan(line, advice, "en")
    assert not plan.ok and any(problem in r.problem for r in plan.rows)
    with pytest.raises(BankError):
        confirm_split(line, advice, "en", expected=plan.allocation, actor=owner)
    assert not Payment.objects.exists() and fresh(line).status == "unmatched"


def test_another_customers_invoice_a_settled_one_and_too_much_in_total_are_refused(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    other = CustomerFactory(organization=org, name="Other Ltd")
    theirs = inv(org, other, "10.00")
    pay(org, customer, c.total, allocation={c.pk: c.total})
    line, = import_lines(account, [("1000.00", "ACME", "", "B-4")])
    plan = split_plan(line, f"{a.number} 900\n{theirs.number} 10\n{c.number} 1", "en")
    assert [r.problem.split(":")[0] if r.problem else "" for r in plan.rows] == [
        "", f"{theirs.number} belongs to Other Ltd", f"{c.number} has nothing left to pay"]
    too_much = split_plan(line, f"{a.number} 1250.00", "en")
    assert not too_much.ok and too_much.problems == ["The advice applies 1,250.00 EUR but the bank line brought "
                                                     "1,000.00 EUR."]


def test_another_organizations_invoice_number_is_unknown_here(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    stranger, _ = make_org()
    with tenant_context(stranger):
        theirs = inv(stranger, CustomerFactory(organization=stranger), "10.00")
    line, = import_lines(account, [("10.00", "ACME", "", "B-5")])
    row, = split_plan(line, f"{theirs.number}x 10.00", "en").rows
    assert "no invoice" in row.problem


def test_a_plan_that_changed_since_it_was_shown_is_refused(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    line, = import_lines(account, [("1250.00", "ACME", "", "B-6")])
    plan = split_plan(line, f"{a.number} 1250.00", "en")
    pay(org, customer, D("100.00"), allocation={a.pk: D("100.00")})
    with pytest.raises(BankError, match="more than the"):
        confirm_split(line, f"{a.number} 1250.00", "en", expected=plan.allocation, actor=owner)
    plan2 = split_plan(line, f"{a.number} 1000.00", "en")
    with pytest.raises(BankError, match="changed since the plan was shown"):
        confirm_split(line, f"{a.number} 1000.00", "en", expected={a.pk: D("999.00")}, actor=owner)
    confirm_split(line, f"{a.number} 1000.00", "en", expected=plan2.allocation, actor=owner)
    assert fresh(a).amount_due == D("150.00")


@pytest.mark.django_db(transaction=True)
def test_two_confirms_at_once_record_one_payment():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        a = inv(org, customer, "100.00")
        line, = import_lines(bank_account(org), [("100.00", "P", "", "B-7")])
    advice, barrier, results = f"{a.number} 100.00", threading.Barrier(2), []

    def confirm():
        try:
            with tenant_context(org, owner):
                barrier.wait()
                confirm_split(BankLine.objects.get(pk=line.pk), advice, "en", expected={a.pk: D("100.00")},
                              actor=owner)
            results.append("ok")
        except BankError as e:
            results.append(str(e))
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "This bank line was already matched" in sorted(results)[0] and "ok" in results
    with tenant_context(org):
        assert Payment.objects.count() == 1 and Invoice.objects.get(pk=a.pk).amount_due == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=100), min_size=3, max_size=3), st.integers(0, 5000))
def test_every_invoice_drops_by_exactly_what_the_advice_applies(world_for_property, cents, extra):
    org, owner, customer, account, invoices = world_for_property
    with tenant_context(org, owner):
        dues = [fresh(i).amount_due for i in invoices]
        paid = [min(dues[n], D(c)) for n, c in enumerate(cents)]
        total = sum(paid) + D(extra) / 100
        line, = import_lines(account, [(f"{total:.2f}", "ACME", "", f"P-{BankLine.objects.count()}")])
        advice = "\n".join(f"{i.number} {p}" for i, p in zip(invoices, paid, strict=True) if p > 0)
        plan = split_plan(line, advice, "en")
        if not plan.allocation:
            return
        line = confirm_split(line, advice, "en", expected=plan.allocation, actor=owner)
        assert [fresh(i).amount_due for i in invoices] == [d - p for d, p in zip(dues, paid, strict=True)]
        assert Payment.objects.get(pk=line.payment_id).unapplied == total - sum(paid)
        check_invariants(org)


@pytest.fixture(scope="module")
def world_for_property(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        org, owner = make_org()
        with tenant_context(org, owner):
            customer = CustomerFactory(organization=org)
            invoices = [inv(org, customer, "100000.00") for _ in range(3)]
            account = bank_account(org)
        yield org, owner, customer, account, invoices


def test_the_page_shows_the_plan_and_confirms_it(remittance_world, client):
    org, owner, customer, account, (a, b, c) = remittance_world
    clerk = add_member(org, Role.FINANCE)
    line, = import_lines(account, [("1650.00", "ACME", "", "B-8")])
    client.force_login(clerk)
    url = reverse("bank_line_split", args=[org.slug, line.pk])
    shown = client.post(url, {"advice": f"{a.number} 1250.00\n{c.number} 400.00", "action": "preview"})
    html = shown.content.decode()
    assert shown.status_code == 200 and 'data-testid="split-plan"' in html and "paid in full" in html
    assert f'name="expected" value="{a.pk}:1250.00,{c.pk}:400.00"' in html
    bad = client.post(url, {"advice": "XYZ-999 12.00", "action": "preview"})
    assert bad.status_code == 400 and "no invoice XYZ-999 in this organization" in bad.content.decode()
    done = client.post(url, {"advice": f"{a.number} 1250.00\n{c.number} 400.00", "action": "confirm",
                             "expected": f"{a.pk}:1250.00,{c.pk}:400.00"})
    assert done.status_code == 302
    with tenant_context(org):
        assert fresh(line).status == "matched" and fresh(a).amount_due == 0 and fresh(c).amount_due == 0


def test_numbers_written_with_other_separators_or_case_are_found(remittance_world):
    org, owner, customer, account, (a, b, c) = remittance_world
    line, = import_lines(account, [("1250.00", "ACME", "", "B-9")])
    loose = a.number.lower().replace("-", " ", 1).replace("-", "/")  # "inv 2026/00001"
    row, = split_plan(line, f"{loose.replace(' ', '_')} 1250.00", "en").rows
    assert row.invoice is not None and row.invoice.pk == a.pk and not row.problem
