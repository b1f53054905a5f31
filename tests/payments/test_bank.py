"""Bank accounts, statement import (preview, duplicates, bad input), matching with explanations,
confirming (posts once), undo, posting fees, reconciliation, tenancy."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.chart import system_accounts
from accounts.models import JournalEntry
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.bank import (
    BankError,
    commit_import,
    confirm_match,
    create_bank_account,
    post_line,
    reconcile_lines,
    reconciliation,
    stage_import,
    suggestions_for,
    summarize,
    unmatch_line,
)
from payments.models import Payment
from payments.models_bank import BankAccount, BankLine, BankLineEvent, StatementImport
from payments.statements import StatementError
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import IBAN, bank_account, camt, import_lines
from tests.payments.helpers import check_invariants, pay, snapshot

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date.today()


@pytest.fixture
def bank_book():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Acme Trading GmbH")
        yield org, owner, customer, bank_account(org)


def inv(org, customer, amount="121.00", days_ago=10):
    day = TODAY - timedelta(days=days_ago)
    return issued(org, customer, [("Work", "1", amount, None)], issue_date=day, due_date=day + timedelta(days=30))


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- Bank accounts -----------------------------------------------------------------------------

def test_bank_account_needs_an_asset_account_of_the_org_and_a_currency(bank_book):
    org, owner, customer, account = bank_book
    acc = system_accounts(org)
    with pytest.raises(BankError, match="asset accounts"):
        create_bank_account(org, name="X", currency="EUR", account=acc["revenue"])
    with pytest.raises(BankError, match="three-letter"):
        create_bank_account(org, name="X", currency="EURO", account=acc["cash"])
    with pytest.raises(BankError, match="exists already"):
        create_bank_account(org, name="main ACCOUNT", currency="EUR", account=acc["cash"])
    with pytest.raises(BankError, match="already has a EUR bank account"):
        create_bank_account(org, name="Second", currency="EUR", account=acc["bank"])
    usd = create_bank_account(org, name="Dollars", currency="usd", account=acc["bank"])
    assert (usd.currency, usd.account_id) == ("USD", acc["bank"].pk)


# --- Import ------------------------------------------------------------------------------------

def test_preview_adds_nothing_then_commit_adds_the_lines_once(bank_book):
    org, owner, customer, account = bank_book
    data = camt([("121.00", "Acme", "INV-1", "B-1"), ("-5.00", "Bank", "fee", "B-2")], opening="100.00")
    imp = stage_import(account, filename="march.xml", data=data, actor=owner)
    assert (imp.status, imp.format, imp.lines_total, imp.opening_balance, imp.closing_balance) == (
        "preview", "camt053", 2, D("100.00"), D("216.00"))
    assert BankLine.objects.count() == 0
    summary = summarize(imp)
    assert (len(summary.new), summary.duplicates, summary.new_credits, summary.new_debits) == (2, 0, D("121"), D("-5"))
    assert summary.balance_note == ""
    commit_import(imp, actor=owner)
    assert BankLine.objects.filter(bank_account=account).count() == 2
    with pytest.raises(BankError, match="already imported"):
        commit_import(imp, actor=owner)
    assert BankLine.objects.count() == 2


def test_the_same_file_and_an_overlapping_one_add_nothing_twice(bank_book):
    org, owner, customer, account = bank_book
    import_lines(account, [("10.00", "A", "x", "B-1"), ("20.00", "B", "y", "B-2")])
    again = commit_import(stage_import(account, filename="again.xml",
                                       data=camt([("10.00", "A", "x", "B-1"), ("20.00", "B", "y", "B-2")])))
    assert (again.lines_added, again.lines_duplicate) == (0, 2)
    overlap = stage_import(account, filename="overlap.xml",
                           data=camt([("20.00", "B", "y", "B-2"), ("30.00", "C", "z", "B-3")]))
    assert summarize(overlap).duplicates == 1
    overlap = commit_import(overlap)
    assert (overlap.lines_added, overlap.lines_duplicate) == (1, 1)
    assert sorted(BankLine.objects.values_list("amount", flat=True)) == [D("10"), D("20"), D("30")]


def test_lines_without_a_bank_id_are_recognised_by_their_content(bank_book):
    org, owner, customer, account = bank_book
    account.iban = ""
    account.save()
    rows = "Date,Amount,Text\n{d},10.00,coffee\n{d},10.00,coffee\n".format(d=TODAY.isoformat())
    mapping = {"date_column": "Date", "amount_column": "Amount", "remittance_column": "Text"}
    first = commit_import(stage_import(account, filename="a.csv", data=rows.encode(), mapping=mapping))
    assert first.lines_added == 2  # two identical coffees are two lines
    more = rows + f"{TODAY.isoformat()},10.00,coffee\n"
    second = commit_import(stage_import(account, filename="b.csv", data=more.encode(), mapping=mapping))
    assert (second.lines_added, second.lines_duplicate) == (1, 2)
    assert fresh(account).csv_mapping == mapping  # saved for the next import


@pytest.mark.parametrize(("data", "message"), [
    (b"<Document><BkToCstmrStmt>", "not well-formed XML"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b"<Document>&b;</Document>", "declares a DTD"),
    (b"", "empty"),
])
def test_bad_files_are_refused_and_nothing_is_kept(bank_book, data, message):
    org, owner, customer, account = bank_book
    with pytest.raises(StatementError, match=message):
        stage_import(account, filename="bad.xml", data=data)
    assert StatementImport.objects.count() == 0 and BankLine.objects.count() == 0


def test_a_statement_in_another_currency_or_of_another_account_is_refused(bank_book):
    org, owner, customer, account = bank_book
    usd = camt([("10.00", "A", "x", "B-1")]).replace(b'Ccy="EUR"', b'Ccy="USD"').replace(b"<Ccy>EUR", b"<Ccy>USD")
    with pytest.raises(StatementError, match="The statement is in USD; the bank account Main account is in EUR"):
        stage_import(account, filename="usd.xml", data=usd)
    other = camt([("10.00", "A", "x", "B-1")]).replace(IBAN.encode(), b"FR7630006000011234567890189")
    with pytest.raises(StatementError, match="for account FR7630006000011234567890189"):
        stage_import(account, filename="other.xml", data=other)
    assert StatementImport.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_before_parsing(bank_book, settings, monkeypatch):
    org, owner, customer, account = bank_book
    monkeypatch.setattr("payments.bank.MAX_BYTES", 1000)
    with pytest.raises(StatementError, match="at most 0 MB"):
        stage_import(account, filename="big.xml", data=b"x" * 1001)


# --- Matching: explained suggestions -----------------------------------------------------------

def test_invoice_number_in_the_reference_with_the_exact_amount(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "121.00")
    line, = import_lines(account, [("121.00", "Someone Else", f"Payment {invoice.number} thanks", "B-1")])
    best = suggestions_for(line)[0]
    assert (best.key, best.score, best.allocation) == (f"inv:{invoice.pk}", 95, {invoice.pk: D("121.00")})
    assert best.reason == (f"Exact: invoice {invoice.number} is named in the remittance text (Acme Trading GmbH) "
                           "and the amount due, 121.00 EUR, equals the credit.")


def test_invoice_number_written_differently_still_matches(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "50.00")
    spaced = invoice.number.replace("-", " ")
    line, = import_lines(account, [("50.00", "", f"inv {spaced.lower()}", "B-1")])
    assert suggestions_for(line)[0].key == f"inv:{invoice.pk}"


def test_amount_equal_to_a_combination_of_open_invoices(bank_book):
    org, owner, customer, account = bank_book
    a, b, c = inv(org, customer, "100.00", 30), inv(org, customer, "40.00", 20), inv(org, customer, "21.00", 10)
    line, = import_lines(account, [("121.00", "ACME Trading", "March invoices", "B-1")])
    best = suggestions_for(line)[0]
    assert best.key == f"inv:{a.pk},{c.pk}" and best.score == 70
    assert best.reason == ("By payer: the payer name \u201cACME Trading\u201d matches customer Acme Trading "
                           f"GmbH ({customer.code}), and the credit equals {a.number} (100.00 EUR) + "
                           f"{c.number} (21.00 EUR).")
    assert best.allocation == {a.pk: D("100.00"), c.pk: D("21.00")}
    assert b.pk not in best.allocation


def test_amount_short_by_a_bank_fee_is_flagged(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "500.00")
    line, = import_lines(account, [("497.50", "Acme", invoice.number, "B-1")])
    best = suggestions_for(line)[0]
    assert best.flags == ["short"] and best.score == 80
    assert best.reason.startswith(f"Short by 2.50 EUR: invoice {invoice.number} is named")
    assert ("looks like a bank fee or a discount taken. Confirm to leave 2.50 EUR open, or to book it as a bank "
            "fee or a discount.") in best.reason


def test_partial_and_over_payments_are_flagged(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "500.00")
    part, over = import_lines(account, [("200.00", "", invoice.number, "B-1"), ("600.00", "", invoice.number, "B-2")])
    p = suggestions_for(part)[0]
    assert p.flags == ["partial"] and "pays 200.00 EUR and leaves 300.00 EUR open" in p.reason
    o = suggestions_for(over)[0]
    assert o.flags == ["over"] and "the other 100.00 EUR stays as unapplied credit" in o.reason
    assert o.allocation == {invoice.pk: D("500.00")}


def test_two_customers_with_the_same_name_are_both_offered_and_flagged(bank_book):
    org, owner, customer, account = bank_book
    twin = CustomerFactory(organization=org, name="Acme Trading Ltd")
    a, b = inv(org, customer, "80.00"), inv(org, twin, "80.00")
    line, = import_lines(account, [("80.00", "Acme Trading", "thanks", "B-1")])
    found = suggestions_for(line)
    assert {s.key for s in found} == {f"inv:{a.pk}", f"inv:{b.pk}"}
    for s in found:
        assert s.flags == ["ambiguous"] and s.score == 50
        assert s.reason.endswith("Careful: 2 customers match this payer; check which one paid.")


def test_a_recorded_payment_not_yet_seen_in_the_bank(bank_book):
    org, owner, customer, account = bank_book
    payment = pay(org, customer, "75.00", allocation="none", reference="TRX-991",
                  received_date=TODAY - timedelta(days=2))
    line, = import_lines(account, [("75.00", "Acme", "TRX-991", "B-1")])
    best = suggestions_for(line)[0]
    assert (best.key, best.score, best.action) == (f"pay:{payment.pk}", 93, "link")
    assert best.reason == (f"Recorded payment TRX-991 from Acme Trading GmbH of 75.00 EUR, received "
                           f"{payment.received_date} (2 day(s) from the bank date), is not yet seen in the bank. "
                           "Its reference appears in the bank text.")


def test_payer_iban_from_an_earlier_confirmed_line(bank_book):
    org, owner, customer, account = bank_book
    first_inv, second_inv = inv(org, customer, "10.00"), inv(org, customer, "33.00")
    iban = "DE44500105175407324931"
    first, = import_lines(account, [("10.00", "ACME", first_inv.number, "B-1", iban)])
    confirm_match(first, f"inv:{first_inv.pk}", actor=owner)
    second, = import_lines(account, [("33.00", "A. Someone", "no reference", "B-2", iban)])
    best = suggestions_for(second)[0]
    assert best.key == f"inv:{second_inv.pk}" and best.score == 85
    assert best.reason.startswith(f"By payer: the payer's IBAN {iban} paid Acme Trading GmbH's invoices before")


def test_only_the_amount(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "64.10")
    line, = import_lines(account, [("64.10", "Unknown Payer", "transfer", "B-1")])
    best, = suggestions_for(line)
    assert best.flags == ["amount_only"] and best.score == 45 and invoice.number in best.reason


def test_debits_get_no_customer_suggestion(bank_book):
    org, owner, customer, account = bank_book
    inv(org, customer, "5.00")
    line, = import_lines(account, [("-5.00", "Acme", "fee", "B-1")])
    assert suggestions_for(line) == []


# --- Confirm, undo, post, reconcile ------------------------------------------------------------

def test_confirm_records_the_payment_through_the_service_and_allocates_it(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "121.00")
    line, = import_lines(account, [("121.00", "Acme", invoice.number, "B-1")])
    line = confirm_match(line, f"inv:{invoice.pk}", actor=owner)
    payment = Payment.objects.get()
    assert (line.status, line.payment_id, line.matched_by_id, line.customer_id) == ("matched", payment.pk, owner.pk,
                                                                                    customer.pk)
    assert (payment.amount, payment.received_date, payment.deposit_account_id, payment.created_by_id) == (
        D("121.00"), TODAY, system_accounts(org)["bank"].pk, owner.pk)
    assert fresh(invoice).amount_due == 0
    assert BankLineEvent.objects.get(line=line).action == "matched"
    assert ledger.account_balance(account.account, currency="EUR") == D("121.00")
    check_invariants(org)
    before = snapshot(org)
    with pytest.raises(BankError, match=f"already matched by {owner} at "):
        confirm_match(line, f"inv:{invoice.pk}", actor=owner)
    assert snapshot(org) == before


def test_confirm_links_an_existing_payment_without_posting(bank_book):
    org, owner, customer, account = bank_book
    payment = pay(org, customer, "75.00", allocation="none", reference="TRX-1")
    line, = import_lines(account, [("75.00", "Acme", "TRX-1", "B-1")])
    head = snapshot(org)["head"]
    line = confirm_match(line, f"pay:{payment.pk}", actor=owner)
    assert line.payment_id == payment.pk and not line.payment_created
    assert snapshot(org)["head"] == head  # nothing posted


def test_a_stale_or_forged_suggestion_is_refused(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "121.00")
    other_org, _o = make_org()
    line, = import_lines(account, [("121.00", "Acme", invoice.number, "B-1")])
    before = snapshot(org)
    for key in ("inv:999999", f"cust:{customer.pk + 1000}", "pay:1", "garbage"):
        with pytest.raises(BankError, match="no longer applies"):
            confirm_match(line, key, actor=owner)
    assert snapshot(org) == before and fresh(line).status == "unmatched"


def test_undo_reverses_the_payment_and_the_line_can_be_matched_again(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "121.00")
    line, = import_lines(account, [("121.00", "Acme", invoice.number, "B-1")])
    line = confirm_match(line, f"inv:{invoice.pk}", actor=owner)
    payment_id = line.payment_id
    with pytest.raises(BankError, match="Say why"):
        unmatch_line(line, reason=" ", actor=owner)
    line = unmatch_line(line, reason="wrong customer", actor=owner)
    assert (line.status, line.payment_id, line.match_count) == ("unmatched", None, 1)
    assert Payment.objects.get(pk=payment_id).reversed_at is not None  # reversed, not deleted
    assert fresh(invoice).amount_due == D("121.00")
    assert ledger.account_balance(account.account, currency="EUR") == 0
    line = confirm_match(line, f"inv:{invoice.pk}", actor=owner)  # a new payment, a new key
    assert line.payment_id != payment_id and fresh(invoice).amount_due == 0
    assert [e.action for e in BankLineEvent.objects.filter(line=line)] == ["matched", "unmatched", "matched"]
    check_invariants(org)


def test_post_a_fee_to_another_account_and_undo_it(bank_book):
    org, owner, customer, account = bank_book
    acc = system_accounts(org)
    line, = import_lines(account, [("-12.50", "Bank", "account fee", "B-1")])
    with pytest.raises(BankError, match="not receivables"):
        post_line(line, account=acc["ar"], reason="fee", actor=owner)
    line = post_line(line, account=acc["rounding"], reason="monthly fee", actor=owner)
    assert line.status == "matched" and line.entry_id
    assert ledger.account_balance(acc["bank"], currency="EUR") == D("-12.50")
    assert ledger.account_balance(acc["rounding"], currency="EUR") == D("12.50")
    line = unmatch_line(line, reason="wrong account", actor=owner)
    assert ledger.account_balance(acc["bank"], currency="EUR") == 0
    assert JournalEntry.objects.filter(organization=org).count() == 2  # the posting and its reversal


def test_reconciliation_balances_and_open_items(bank_book):
    org, owner, customer, account = bank_book
    invoice = inv(org, customer, "121.00")
    unseen = pay(org, customer, "40.00", allocation="none", reference="CASH-DESK")
    lines = import_lines(account, [("121.00", "Acme", invoice.number, "B-1"), ("-7.00", "Bank", "fee", "B-2")],
                         opening="0.00")
    confirm_match(lines[0], f"inv:{invoice.pk}", actor=owner)
    rec = reconciliation(account)
    assert rec.statement_balance == D("114.00")
    assert rec.book_balance == D("161.00")  # the 121.00 matched plus the 40.00 not yet in the bank
    assert [li.pk for li in rec.unmatched_lines] == [lines[1].pk] and rec.unmatched_total == D("-7.00")
    assert [p.pk for p in rec.unseen_payments] == [unseen.pk] and rec.unseen_total == D("40.00")
    assert rec.difference == D("-47.00") and rec.unexplained == 0
    assert reconcile_lines(account, [li.pk for li in lines], actor=owner) == 1  # only the matched one
    line = fresh(lines[0])
    assert (line.status, line.reconciled_by_id) == ("reconciled", owner.pk)
    with pytest.raises(BankError, match="reconciled"):
        unmatch_line(line, reason="x", actor=owner)


# --- Tenancy -----------------------------------------------------------------------------------

def test_another_organization_sees_no_bank_row(bank_book):
    org, owner, customer, account = bank_book
    import_lines(account, [("10.00", "A", "x", "B-1")])
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        assert BankAccount.objects.count() == 0 and BankLine.objects.count() == 0
        assert StatementImport.objects.count() == 0 and BankLineEvent.objects.count() == 0
        # The same file in another organization's account is its own, not a duplicate.
        theirs = bank_account(other)
        assert len(import_lines(theirs, [("10.00", "A", "x", "B-1")])) == 1


def test_matching_never_offers_another_organizations_invoice(bank_book):
    org, owner, customer, account = bank_book
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        foreign = inv(other, CustomerFactory(organization=other, name="Acme Trading GmbH"), "121.00")
    line, = import_lines(account, [("121.00", "Acme Trading GmbH", foreign.number, "B-1")])
    assert all(str(foreign.pk) not in s.key for s in suggestions_for(line))
    assert Invoice.objects.filter(pk=foreign.pk).count() == 0  # not even visible here
