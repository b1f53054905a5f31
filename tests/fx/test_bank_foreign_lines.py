"""Issue 17 item 3, the bank: a statement of a bank account in a foreign currency (USD in a EUR organization)
is matched like any other, in its own currency. A credit finds an open USD invoice by its number, and a
payment received in USD for a customer whose account is in GBP (recorded with the amount the bank got),
by that amount; a debit finds the refund of such a payment, paid back in USD, by what left the account."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.chart import system_accounts
from accounts.models_fx import ExchangeRate
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from payments.bank import (
    commit_import,
    confirm_match,
    create_bank_account,
    reconciliation,
    stage_import,
    suggestions_for,
)
from payments.camt_writer import Entry, camt053_document
from payments.models import Payment
from payments.services import record_payment, refund_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db
D = Decimal
IBAN = "US12300000000000000000001"


@pytest.fixture
def usd_bank():
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        today = today_in(org)
        for code, rate in (("USD", "0.90"), ("GBP", "1.20")):
            ExchangeRate.objects.bulk_create([ExchangeRate(organization=org, currency=code, rate=D(rate),
                                                           day=today - timedelta(days=n)) for n in range(10)])
        account = create_bank_account(org, name="Dollar account", currency="USD",
                                      account=system_accounts(org)["bank"], iban=IBAN)
        yield org, owner, today, account


def _import(account, today, entries, statement_id):
    data = camt053_document(iban=IBAN, currency="USD", opening=D("0.00"), statement_id=statement_id,
                            entries=[Entry(today, D(amount), party, text, ref) for amount, party, text, ref in entries])
    return list(commit_import(stage_import(account, filename=f"{statement_id}.xml", data=data)).lines.order_by("pk"))


def test_usd_statement_lines_match_a_usd_invoice_a_usd_receipt_for_a_gbp_account_and_its_usd_refund(usd_bank):
    org, owner, today, account = usd_bank
    dollar = CustomerFactory(organization=org, currency="USD", name="Dollar Corp")
    invoice = issued(org, dollar, lines=(("Work", "1", "250.00", None),), issue_date=today - timedelta(days=5))
    sterling = CustomerFactory(organization=org, currency="GBP", name="Sterling Ltd")
    payment = record_payment(org, sterling, amount=D("150.00"), currency="USD", received_date=today - timedelta(days=1),
                             method="bank_transfer", deposit_account=system_accounts(org)["bank"],
                             idempotency_key=ledger.new_idempotency_key(), allocation="none", reference="ST-150")
    assert (payment.amount, payment.currency, payment.received_amount) == (D("112.50"), "GBP", D("150.00"))

    invoice_line, receipt_line = _import(account, today, [
        (str(invoice.amount_due), "Dollar Corp", f"Payment {invoice.number}", "B-1"),
        ("150.00", "Sterling Ltd", "ST-150", "B-2")], "USD-1")
    best = suggestions_for(invoice_line)[0]
    assert (best.kind, best.key, best.score) == ("invoices", f"inv:{invoice.pk}", 95)
    assert "250.00 USD" in best.reason
    best = suggestions_for(receipt_line)[0]
    # Matched by the 150 USD the bank got, not by the 112.50 GBP credited to the account.
    assert (best.kind, best.key) == ("payment", f"pay:{payment.pk}")
    assert "of 150.00 USD" in best.reason and "Its reference appears in the bank text." in best.reason
    assert confirm_match(invoice_line, f"inv:{invoice.pk}", actor=owner).status == "matched"
    assert confirm_match(receipt_line, f"pay:{payment.pk}", actor=owner).payment_id == payment.pk
    invoice.refresh_from_db()
    assert invoice.amount_due == 0

    # 20 GBP of the credit paid back in dollars today: 20 × 1.20/0.90 = 26.67 USD leave the account.
    refund = refund_payment(Payment.objects.get(pk=payment.pk), amount=D("20.00"), refund_date=today,
                            method="bank_transfer", account=system_accounts(org)["bank"],
                            idempotency_key=ledger.new_idempotency_key(), reference="RF-20")
    assert (refund.paid_amount, refund.paid_currency) == (D("26.67"), "USD")
    assert [(o.what, o.amount) for o in reconciliation(account).unseen_out] == [("refund", D("-26.67"))]
    debit, = _import(account, today, [("-26.67", "Sterling Ltd", "RF-20 refund", "B-3")], "USD-2")
    best = suggestions_for(debit)[0]
    assert (best.kind, best.key) == ("entry", f"entry:{refund.entry_id}")
    assert "of 26.67 USD" in best.reason
    assert confirm_match(debit, best.key, actor=owner).entry_id == refund.entry_id
    rec = reconciliation(account)
    assert rec.unseen_out == [] and rec.unmatched_lines == []
