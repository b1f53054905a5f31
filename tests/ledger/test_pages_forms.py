"""The ledger's write pages: the general journal form (posts once, refuses bad input without
posting), reversals, the chart of accounts, and who may do what."""

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils.html import escape

from accounts import ledger
from accounts.chart import system_accounts
from accounts.forms_ledger import RECEIVABLE_REFUSED
from accounts.ledger_queries import MANUAL_SOURCE
from accounts.models import Account, AccountType, JournalEntry
from tests.ledger.pages_fixtures import book_fixture  # noqa: F401 - the `tally` fixture
from tests.ledger_helpers import flat_rates, sale

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def entry_count(tally) -> int:
    with tally.ctx():
        return JournalEntry.objects.filter(organization=tally.org).count()


def gj(tally, lines, **header):
    """A general journal POST: lines are (account key or raw account id, debit, credit)."""
    with tally.ctx():
        acc = system_accounts(tally.org)
    data = {"effective_date": date.today().isoformat(), "currency": "EUR", "memo": "Adjustment",
            "reason": "till counted", "idempotency_key": uuid.uuid4().hex,
            "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "50", **header}
    for i, (key, debit, credit) in enumerate(lines):
        account = acc[key].pk if isinstance(key, str) and key else key
        data.update({f"lines-{i}-account": account or "", f"lines-{i}-debit": debit, f"lines-{i}-credit": credit})
    return data


def account_options(page: str) -> set[int]:
    select = re.search(r'<select name="lines-0-account".*?</select>', page, re.S).group(0)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


def balances(tally, *keys):
    with tally.ctx():
        acc = system_accounts(tally.org)
        return [ledger.account_balance(acc[key]) for key in keys]


# Cash paid into the bank: the usual manual entry that touches no customer.
GOOD = [("bank", "12.50", ""), ("cash", "", "12.50")]


# --- General journal -----------------------------------------------------------------------

def test_form_renders_with_a_fresh_idempotency_key_each_time(tally):
    client = tally.client(tally.finance)
    keys = [re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html(client.get(tally.url("journal_new"))))
            for _ in range(2)]
    assert all(keys) and keys[0].group(1) != keys[1].group(1)


def test_the_receivable_account_is_not_offered_and_no_customer_column(tally):
    with tally.ctx():
        acc = system_accounts(tally.org)
    # The old "Adjust the balance" link's parameter no longer prefills anything.
    page = html(tally.client(tally.finance).get(tally.url("journal_new"), {"customer": tally.customer.pk}))
    offered = account_options(page)
    assert acc["ar"].pk not in offered
    assert offered == {a.pk for key, a in acc.items() if key != "ar"}
    assert "lines-0-customer" not in page and "<datalist" not in page and "Accounts receivable is not offered" in page


@pytest.mark.parametrize("side", ["debit", "credit"])
def test_a_forged_receivable_line_is_refused_and_nothing_is_posted(tally, side):
    with tally.ctx():
        ar = system_accounts(tally.org)["ar"]
    ar_line = (ar.pk, "12.50", "") if side == "debit" else (ar.pk, "", "12.50")
    other = ("late_fee", "", "12.50") if side == "debit" else ("returns", "12.50", "")
    data = gj(tally, [ar_line, other])
    data["lines-0-customer"] = "BLUE"  # what the old form sent with an AR line
    before, ar_before = entry_count(tally), balances(tally, "ar")
    response = tally.client(tally.finance).post(tally.url("journal_new"), data)
    assert response.status_code == 400
    page = html(response)
    assert escape(str(RECEIVABLE_REFUSED)) in page and "Nothing was posted." in page
    assert entry_count(tally) == before and balances(tally, "ar") == ar_before
    with tally.ctx():
        assert ledger.customer_balance(tally.customer) == Decimal("-59.50")


@pytest.mark.parametrize(("lines", "moved"), [
    (GOOD, {"bank": Decimal("12.50"), "cash": Decimal("-12.50")}),
    ([("returns", "40.00", ""), ("revenue", "", "40.00")], {"returns": Decimal("40.00"),
                                                           "revenue": Decimal("-40.00")}),
], ids=["cash-to-bank", "reclassify-revenue"])
def test_posts_a_balanced_adjustment_with_reason_and_actor(tally, lines, moved):
    keys = sorted(moved)
    before = dict(zip(keys, balances(tally, *keys), strict=True))
    data = gj(tally, lines)
    data["lines-0-customer"] = "BLUE"  # a stray customer field is ignored, never attached
    response = tally.client(tally.finance).post(tally.url("journal_new"), data)
    assert response.status_code == 302
    with tally.ctx():
        entry = JournalEntry.objects.filter(organization=tally.org).order_by("-seq").first()
        assert response.url == tally.url("journal_entry", pk=entry.pk)
        assert entry.source_type == MANUAL_SOURCE and entry.reason == "till counted"
        assert entry.actor_id == tally.finance.pk and entry.memo == "Adjustment"
        amounts = sorted((line.account.system_key, line.amount, line.customer_id, line.currency)
                         for line in entry.lines.all())
        assert amounts == sorted((key, amount, None, "EUR") for key, amount in moved.items())
        assert ledger.customer_balance(tally.customer) == Decimal("-59.50")
    after = dict(zip(keys, balances(tally, *keys), strict=True))
    assert {k: after[k] - before[k] for k in keys} == moved


def test_a_double_submit_posts_once(tally):
    client = tally.client(tally.finance)
    data = gj(tally, GOOD)
    before = entry_count(tally)
    first = client.post(tally.url("journal_new"), data)
    second = client.post(tally.url("journal_new"), data)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert entry_count(tally) == before + 1
    page = html(client.get(second.url))
    assert "already posted" in page


def test_a_blank_reason_is_refused(tally):
    before = entry_count(tally)
    response = tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, GOOD, reason="   "))
    assert response.status_code == 400 and entry_count(tally) == before
    assert "This field is required." in html(response) or "Say why" in html(response)


@pytest.mark.parametrize(("lines", "header", "message"), [
    ([("bank", "12.00", ""), ("cash", "", "12.50")], {}, "Debits (12.00) and credits (12.50) differ by 0.50"),
    ([("bank", "", "1e3"), ("cash", "1000", "")], {}, "Type numbers as 1,234.56"),
    ([("bank", "", "NaN"), ("cash", "1", "")], {}, "Type numbers as 1,234.56"),
    ([("bank", "", "Infinity"), ("cash", "1", "")], {}, "Type numbers as 1,234.56"),
    ([("bank", "", "0x10"), ("cash", "16", "")], {}, "Type numbers as 1,234.56"),
    ([("bank", "", "1,50"), ("cash", "1.50", "")], {}, "Type numbers as 1,234.56"),
    ([("bank", "", "-5"), ("cash", "5", "")], {}, "Enter a positive amount"),
    ([("bank", "", "12.345"), ("cash", "12.345", "")], {}, "Use at most 2 decimals for EUR."),
    ([("bank", "", "0.00"), ("cash", "0", "")], {}, "A line cannot be zero"),
    ([("bank", "", "1" * 20), ("cash", "1" * 20, "")], {}, "larger than the ledger stores"),
    ([("bank", "5", "5"), ("cash", "", "5")], {}, "either a debit or a credit"),
    ([("", "", "5"), ("cash", "5", "")], {}, "Choose an account."),
    ([("bank", "", "x"), ("cash", "", "")], {}, "Type numbers as 1,234.56"),
    ([(999999999, "5", ""), ("cash", "", "5")], {}, "Select a valid choice."),
    ([("bank", "5", "")], {}, "An entry needs at least two lines."),
    (GOOD, {"effective_date": (date.today() - timedelta(days=11 * 366)).isoformat()}, "more than ten years ago"),
    (GOOD, {"effective_date": (date.today() + timedelta(days=400)).isoformat()}, "more than a year ahead"),
    (GOOD, {"effective_date": "31/12/2026"}, "Enter a valid date."),
    (GOOD, {"currency": "JPY"}, "JPY has no decimals."),
    (GOOD, {"currency": "XXX"}, "“XXX” is not an active ISO 4217 currency code."),
    (GOOD, {"idempotency_key": "not-a-key"}, "This form expired"),
    (GOOD, {"reason": ""}, "This field is required."),
])
def test_bad_input_is_refused_with_a_message_and_posts_nothing(tally, lines, header, message):
    before = entry_count(tally)
    response = tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, lines, **header))
    assert response.status_code == 400
    page = html(response)
    assert message in page, page[page.find('class="flash'):][:600]
    assert entry_count(tally) == before


def test_another_organizations_account_is_refused_and_nothing_is_posted(tally):
    from tests.factories import make_org

    other, other_owner = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other, other_owner):
        foreign = system_accounts(other)["bank"]
    before = entry_count(tally)
    response = tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, [(foreign.pk, "5", ""),
                                                                                 ("cash", "", "5")]))
    assert response.status_code == 400
    assert "Select a valid choice." in html(response)
    assert entry_count(tally) == before
    with tenant_context(other, other_owner):
        assert not JournalEntry.objects.filter(organization=other).exists()


def test_more_lines_adds_rows_keeps_input_and_posts_nothing(tally):
    data = gj(tally, [("bank", "", "12.50"), ("cash", "", "")])
    data["add_lines"] = "1"
    before = entry_count(tally)
    response = tally.client(tally.finance).post(tally.url("journal_new"), data)
    page = html(response)
    assert response.status_code == 200 and entry_count(tally) == before
    assert 'name="lines-TOTAL_FORMS" value="4"' in page and 'name="lines-0-credit" value="12.50"' in page
    assert 'class="error"' not in page


def test_blank_rows_are_ignored(tally):
    lines = [("bank", "3.00", ""), ("", "", ""), ("late_fee", "", ""), ("cash", "", "3.00")]
    response = tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, lines))
    assert response.status_code == 400  # an account chosen with no amount is not a blank row
    assert "Enter a debit or a credit amount." in html(response)
    lines[2] = ("", "", "")
    assert tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, lines)).status_code == 302
    with tally.ctx():
        entry = JournalEntry.objects.filter(organization=tally.org).order_by("-seq").first()
        assert entry.lines.count() == 2


@pytest.mark.parametrize(("currency", "amount"), [("KWD", "1.234"), ("JPY", "1500")])
def test_each_currency_takes_its_own_decimals_on_every_line(tally, currency, amount):
    with tally.ctx():
        flat_rates(tally.org, {currency: "2.5"})
    lines = [("bank", amount, ""), ("revenue", "", amount)]
    response = tally.client(tally.finance).post(tally.url("journal_new"), gj(tally, lines, currency=currency))
    assert response.status_code == 302
    with tally.ctx():
        entry = JournalEntry.objects.filter(organization=tally.org).order_by("-seq").first()
        assert {(line.currency, abs(line.amount)) for line in entry.lines.all()} == {(currency, Decimal(amount))}


# --- Reversal ------------------------------------------------------------------------------

def manual_entry(tally):
    with tally.ctx():
        acc = system_accounts(tally.org)
        return ledger.post(tally.org, [ledger.Line(acc["bank"], Decimal("8.00")),
                                      ledger.Line(acc["cash"], Decimal("-8.00"))],
                           effective_date=date.today(), idempotency_key=f"gj:{uuid.uuid4().hex}", memo="Deposit",
                           source=(MANUAL_SOURCE, None), reason="till counted", actor=tally.owner)


def test_finance_reverses_a_manual_entry_once_with_a_reason(tally):
    entry = manual_entry(tally)
    client = tally.client(tally.finance)
    page = html(client.get(tally.url("journal_entry", pk=entry.pk)))
    assert "Reverse this entry" in page and "data-confirm" in page
    response = client.post(tally.url("journal_reverse", pk=entry.pk), {"reason": "charged by mistake"})
    assert response.status_code == 302
    with tally.ctx():
        reversal = JournalEntry.objects.get(reverses=entry)
        assert reversal.reason == "charged by mistake" and reversal.actor_id == tally.finance.pk
        assert response.url == tally.url("journal_entry", pk=reversal.pk)
    assert balances(tally, "bank", "cash") == [Decimal("230.00"), Decimal("0.00")]
    again = client.post(tally.url("journal_reverse", pk=entry.pk), {"reason": "twice"}, follow=True)
    assert "already been reversed" in html(again)
    with tally.ctx():
        assert JournalEntry.objects.filter(reverses=entry).count() == 1
    page = html(client.get(tally.url("journal_entry", pk=entry.pk)))
    assert "Reverse this entry" not in page


def test_a_reversal_needs_a_reason(tally):
    entry = manual_entry(tally)
    before = entry_count(tally)
    response = tally.client(tally.finance).post(tally.url("journal_reverse", pk=entry.pk), {"reason": "  "})
    assert response.status_code == 400 and entry_count(tally) == before
    assert "This field is required." in html(response) or "Say why" in html(response)


def test_a_reversal_itself_cannot_be_reversed(tally):
    entry = manual_entry(tally)
    with tally.ctx():
        reversal = ledger.reverse(entry, reason="oops")
    before = entry_count(tally)
    client = tally.client(tally.owner)
    assert "Reverse this entry" not in html(client.get(tally.url("journal_entry", pk=reversal.pk)))
    response = client.post(tally.url("journal_reverse", pk=reversal.pk), {"reason": "x"}, follow=True)
    assert "is itself a reversal" in html(response) and entry_count(tally) == before


def test_an_entry_posted_by_a_document_is_not_reversed_from_the_journal(tally):
    entry = tally.entries[0]
    before = entry_count(tally)
    client = tally.client(tally.owner)
    assert "Reverse this entry" not in html(client.get(tally.url("journal_entry", pk=entry.pk)))
    response = client.post(tally.url("journal_reverse", pk=entry.pk), {"reason": "x"}, follow=True)
    assert "posted by a document" in html(response) and entry_count(tally) == before


# --- Chart of accounts ---------------------------------------------------------------------

def test_everyone_sees_the_chart_with_balances_only_owners_get_the_controls(tally):
    page = html(tally.client(tally.viewer).get(tally.url("chart_of_accounts")))
    assert "Accounts receivable" in page and "59.50" in page and "Cr" in page
    assert "Add an account" not in page
    assert "Add an account" not in html(tally.client(tally.finance).get(tally.url("chart_of_accounts")))
    assert "Add an account" in html(tally.client(tally.owner).get(tally.url("chart_of_accounts")))


def test_owner_adds_renames_and_deletes_an_unused_account(tally):
    client = tally.client(tally.owner)
    response = client.post(tally.url("account_create"), {"new-code": "6200", "new-name": "  Bank   fees ",
                                                         "new-type": "expense"})
    assert response.status_code == 302
    with tally.ctx():
        account = Account.objects.get(organization=tally.org, code="6200")
        assert account.name == "Bank fees" and account.type == AccountType.EXPENSE and not account.is_system
    response = client.post(tally.url("account_edit", pk=account.pk), {"code": "6210", "name": "Card fees",
                                                                     "type": "expense"})
    assert response.status_code == 302
    page = html(client.get(tally.url("chart_of_accounts")))
    assert tally.url("account_delete", pk=account.pk) in page
    assert client.post(tally.url("account_delete", pk=account.pk)).status_code == 302
    with tally.ctx():
        assert not Account.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"new-code": "1100", "new-name": "Other", "new-type": "asset"}, "Code 1100 is already used by"),
    ({"new-code": "", "new-name": "Other", "new-type": "asset"}, "This field is required."),
    ({"new-code": "12 34", "new-name": "Other", "new-type": "asset"}, "Use 1–10 letters"),
    ({"new-code": "12345678901", "new-name": "Other", "new-type": "asset"}, "at most 10 characters"),
    ({"new-code": "7000", "new-name": "   ", "new-type": "asset"}, "This field is required."),
    ({"new-code": "7000", "new-name": "Other", "new-type": "gold"}, "Select a valid choice."),
])
def test_adding_a_bad_account_is_refused_with_a_clear_error(tally, data, message):
    with tally.ctx():
        before = Account.objects.filter(organization=tally.org).count()
    response = tally.client(tally.owner).post(tally.url("account_create"), data)
    assert response.status_code == 400 and message in html(response)
    with tally.ctx():
        assert Account.objects.filter(organization=tally.org).count() == before


def test_a_code_is_unique_ignoring_case_also_when_renaming(tally):
    client = tally.client(tally.owner)
    client.post(tally.url("account_create"), {"new-code": "AB-1", "new-name": "One", "new-type": "expense"})
    response = client.post(tally.url("account_create"), {"new-code": "ab-1", "new-name": "Two", "new-type": "expense"})
    assert response.status_code == 400 and "Code AB-1 is already used by “One”" in html(response)
    with tally.ctx():
        bank = system_accounts(tally.org)["bank"]
    response = client.post(tally.url("account_edit", pk=bank.pk), {"code": "1100", "name": "Bank", "type": "asset"})
    assert response.status_code == 400 and "already used by" in html(response)


def test_a_system_account_can_be_renamed_but_not_retyped_or_deleted(tally):
    client = tally.client(tally.owner)
    with tally.ctx():
        ar = system_accounts(tally.org)["ar"]
    response = client.post(tally.url("account_edit", pk=ar.pk), {"code": "1100", "name": "Debtors",
                                                                "type": "expense"})
    assert response.status_code == 302
    with tally.ctx():
        ar.refresh_from_db()
        assert (ar.name, ar.type, ar.system_key) == ("Debtors", AccountType.ASSET, "ar")
    assert tally.url("account_delete", pk=ar.pk) not in html(client.get(tally.url("chart_of_accounts")))
    response = client.post(tally.url("account_delete", pk=ar.pk), follow=True)
    assert "system account" in html(response)
    with tally.ctx():
        assert Account.objects.filter(pk=ar.pk).exists()


def test_an_account_with_postings_is_not_deleted(tally):
    with tally.ctx():
        account = Account.objects.create(organization=tally.org, code="4300", name="Other income",
                                         type=AccountType.INCOME)
        acc = system_accounts(tally.org)
        ledger.post(tally.org, [ledger.Line(acc["bank"], Decimal("1.00")), ledger.Line(account, Decimal("-1.00"))],
                    effective_date=date.today(), idempotency_key="other-income")
    client = tally.client(tally.owner)
    assert tally.url("account_delete", pk=account.pk) not in html(client.get(tally.url("chart_of_accounts")))
    response = client.post(tally.url("account_delete", pk=account.pk), follow=True)
    assert "has journal entries" in html(response)
    with tally.ctx():
        assert Account.objects.filter(pk=account.pk).exists()
    # ...and its type is fixed.
    response = client.post(tally.url("account_edit", pk=account.pk), {"code": "4300", "name": "Misc income",
                                                                     "type": "expense"})
    with tally.ctx():
        account.refresh_from_db()
        assert (account.name, account.type) == ("Misc income", AccountType.INCOME)


def test_another_organizations_account_is_404(tally):
    from tests.factories import make_org

    other, _ = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other):
        foreign = system_accounts(other)["bank"]
    client = tally.client(tally.owner)
    assert client.get(tally.url("account_edit", pk=foreign.pk)).status_code == 404
    assert client.post(tally.url("account_delete", pk=foreign.pk)).status_code == 404


# --- Who may write -------------------------------------------------------------------------

def test_viewer_gets_403_on_every_ledger_write_and_nothing_changes(tally):
    entry = manual_entry(tally)
    with tally.ctx():
        spare = Account.objects.create(organization=tally.org, code="7777", name="Spare", type=AccountType.EXPENSE)
    before = entry_count(tally)
    client = tally.client(tally.viewer)
    writes = [
        ("get", tally.url("journal_new"), None),
        ("post", tally.url("journal_new"), gj(tally, GOOD)),
        ("post", tally.url("journal_reverse", pk=entry.pk), {"reason": "x"}),
        ("post", tally.url("ledger_verify"), {}),
        ("post", tally.url("account_create"), {"new-code": "7000", "new-name": "X", "new-type": "asset"}),
        ("get", tally.url("account_edit", pk=spare.pk), None),
        ("post", tally.url("account_edit", pk=spare.pk), {"code": "7777", "name": "Y", "type": "expense"}),
        ("post", tally.url("account_delete", pk=spare.pk), {}),
    ]
    for method, url, data in writes:
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 403, (method, url)
    assert entry_count(tally) == before
    with tally.ctx():
        spare.refresh_from_db()
        assert spare.name == "Spare"
    page = html(client.get(tally.url("journal_entry", pk=entry.pk)))
    assert "Reverse this entry" not in page


def test_finance_may_post_but_not_change_the_chart_or_verify(tally):
    client = tally.client(tally.finance)
    assert client.get(tally.url("journal_new")).status_code == 200
    assert client.post(tally.url("account_create"), {"new-code": "7000", "new-name": "X",
                                                    "new-type": "asset"}).status_code == 403
    assert client.post(tally.url("ledger_verify")).status_code == 403


def test_journal_sale_from_helpers_is_listed_for_viewers(tally):
    with tally.ctx():
        extra = sale(tally.org, tally.customer, "1.00")
    page = html(tally.client(tally.viewer).get(tally.url("journal")))
    assert f">#{extra.seq}</a>" in page
