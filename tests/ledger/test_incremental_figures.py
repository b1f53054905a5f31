"""The incremental check reads only what is new (issue 13 item 4, issue 23 item 4): each customer's
balance and its AR lines outside documents start from the figures the last clean check vouched for
(customer balance's verified_amount and verified_outside_docs) plus the lines since the verified
point. Tampering as the superuser with the triggers off (tests/ledger/test_tamper.py)."""

from decimal import Decimal

import pytest
from django.db import connection

from accounts.ledger_verify import verify_organization
from accounts.ledger_verify_incremental import verify_since_last
from accounts.management.commands.verify_ledger import record_verification
from accounts.models import CustomerBalance, LedgerHead
from ledger_site.tenancy import tenant_context
from tests.invoicing_helpers import issued
from tests.ledger.test_seal_tamper import books as books_fixture
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import sale

pytestmark = pytest.mark.django_db(transaction=True)
books = books_fixture


def figures(org):
    with tenant_context(org):
        return {(b.customer.name, b.currency): (b.amount, b.verified_amount, b.verified_outside_docs)
                for b in CustomerBalance.objects.filter(organization=org).select_related("customer")}


def vouch(org, check=verify_organization, kind="full"):
    with tenant_context(org):
        result = check(org)
        assert result.ok, result.problems
        record_verification(org, result, kind=kind)
    return result


def test_a_clean_check_keeps_each_customers_figures_and_the_incremental_one_moves_them(books):
    org, d = books
    vouch(org)
    # acme: 240 + 60 − 100 paid − 12 credited; bolt: 30 − 5 written off. All of it in documents.
    assert figures(org) == {("Acme Ltd", "EUR"): (Decimal("188.000"),) * 2 + (Decimal("0.000"),),
                            ("Bolt plc", "EUR"): (Decimal("25.000"),) * 2 + (Decimal("0.000"),)}
    with tenant_context(org, None):
        sale(org, d["acme"], "7.50")  # an AR line that belongs to no document
        issued(org, d["bolt"], lines=(("Audit", "1", "10.00", None),))
    incremental = vouch(org, verify_since_last, kind="incremental")
    assert incremental.entries == 2 and set(incremental.balances) == {(d["acme"].pk, "EUR"), (d["bolt"].pk, "EUR")}
    assert figures(org) == {("Acme Ltd", "EUR"): (Decimal("195.500"),) * 2 + (Decimal("7.500"),),
                            ("Bolt plc", "EUR"): (Decimal("35.000"),) * 2 + (Decimal("0.000"),)}
    # The next incremental check starts from those figures and agrees with the full one.
    with tenant_context(org, None):
        sale(org, d["acme"], "2.50")
    with tenant_context(org):
        assert verify_since_last(org).ok and verify_organization(org).ok


def test_the_incremental_check_does_not_re_sum_older_lines(books, owner_sql):
    """An older AR line changed past the triggers: the incremental check, which reads only the
    lines after the verified point, does not see it (the nightly full check does): proof that the
    customer check no longer re-sums whole customers."""
    org, d = books
    vouch(org)
    with tenant_context(org, None):
        sale(org, d["acme"], "1.00")
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount + 1 WHERE organization_id = %s AND "
                          "customer_id = %s AND entry_id = (SELECT min(entry_id) FROM accounts_journalline "
                          "WHERE organization_id = %s AND customer_id = %s)",
                          [org.pk, d["acme"].pk, org.pk, d["acme"].pk])
    with tenant_context(org):
        incremental = verify_since_last(org).problems
        full = "\n".join(verify_organization(org).problems)
    # (The day total of the new lines' day is still re-summed from that day's lines, and the old
    # line is on the same day: that one it sees.)
    assert [p for p in incremental if "day total" not in p] == [], incremental
    assert "entry #1: hash does not match" in full and "maintained balance 189.000 EUR differs" in full


def _invoice_drift(org, d, owner_sql):
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_paid = amount_paid + 10, amount_due = amount_due - 10 "
                          "WHERE id = %s", [d["inv3"].pk])


def _two_customers(org, d, owner_sql):
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET amount_due = amount_due - 10, amount_paid = amount_paid + 10 "
                          "WHERE id = %s", [d["inv1"].pk])
        owner_sql.execute("UPDATE invoicing_invoice SET amount_due = amount_due + 10, total = total + 10 "
                          "WHERE id = %s", [d["inv3"].pk])


def _vouched_outside_docs(org, d, owner_sql):
    owner_sql.execute("UPDATE accounts_customerbalance SET verified_outside_docs = verified_outside_docs + 3 "
                      "WHERE customer_id = %s", [d["bolt"].pk])


def _vouched_balance(org, d, owner_sql):
    owner_sql.execute("UPDATE accounts_customerbalance SET verified_amount = verified_amount - 4 "
                      "WHERE customer_id = %s", [d["acme"].pk])


def _vouched_day_total(org, d, owner_sql):
    owner_sql.execute("UPDATE accounts_accountdaytotal SET verified_amount = verified_amount + 2 WHERE "
                      "organization_id = %s AND day = (SELECT max(day) FROM accounts_accountdaytotal WHERE "
                      "organization_id = %s)", [org.pk, org.pk])


def _balance(org, d, owner_sql):
    owner_sql.execute("UPDATE accounts_customerbalance SET amount = amount + 4 WHERE customer_id = %s",
                      [d["acme"].pk])


@pytest.mark.parametrize("tamper, expected", [
    # inv3 itself was not touched since the last check, so its own sums wait for the full check
    # (tests/ledger/test_incremental_documents.py); its customer, who has new lines, does not add up.
    (_invoice_drift, ["customer Bolt plc: open items 15.000"]),
    (_two_customers, ["customer Acme Ltd: open items", "customer Bolt plc: open items"]),
    (_vouched_outside_docs, ["customer Bolt plc: open items 25.000 − unapplied 0 + other AR entries 4.000 = "
                             "29.000 EUR, but its AR balance is 26.000"]),
    (_vouched_balance, ["maintained balance 189.000 EUR differs from its journal lines 185.000"]),
    (_vouched_day_total, ["day total differs from its journal lines"]),
    (_balance, ["maintained balance 193.000 EUR differs from its journal lines 189.000",
                "customer Acme Ltd: open items"]),
])
def test_the_incremental_check_finds_sub_ledger_drift_from_the_vouched_figures(books, owner_sql, tamper, expected):
    org, d = books
    vouch(org)
    with tenant_context(org, None):
        sale(org, d["acme"], "1.00")
        sale(org, d["bolt"], "1.00")
    tamper(org, d, owner_sql)
    with tenant_context(org):
        found = "\n".join(verify_since_last(org).problems)
    assert all(e in found for e in expected), found


def test_a_slower_check_that_ended_earlier_does_not_pull_the_verified_point_back(books):
    org, d = books
    with tenant_context(org):
        older = verify_organization(org)
        sale(org, d["acme"], "5.00")
    vouch(org)
    with tenant_context(org):
        record_verification(org, older)  # clean, but it saw the journal before the sale
        head = LedgerHead.objects.get(organization=org)
    assert head.verified_seq == older.to_seq + 1
    assert figures(org)[("Acme Ltd", "EUR")] == (Decimal("193.000"), Decimal("193.000"), Decimal("5.000"))
    with tenant_context(org), connection.cursor():
        assert verify_since_last(org).ok
