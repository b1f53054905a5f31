"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the ledger's pages."""

import uuid
from decimal import Decimal

from django.utils import timezone

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_queries import MANUAL_SOURCE
from accounts.models import Account, AccountType
from tests.urlmatrix import register_object, register_url


@register_object("manual_entry")
def _manual_entry(world):
    acc = system_accounts(world.org)
    return ledger.post(
        world.org, [ledger.Line(acc["bank"], Decimal("10.00")), ledger.Line(acc["cash"], Decimal("-10.00"))],
        effective_date=timezone.localdate(), idempotency_key=f"matrix:{uuid.uuid4().hex}", memo="Matrix deposit",
        actor=world.owner, source=(MANUAL_SOURCE, None), reason="matrix")


@register_object("spare_account")
def _spare_account(world):
    return Account.objects.create(organization=world.org, code="7777", name="Spare", type=AccountType.EXPENSE)


@register_object("bank_account")
def _bank_account(world):
    return system_accounts(world.org)["bank"]


@register_object("cash_account")
def _cash_account(world):
    return system_accounts(world.org)["cash"]


def journal_form(world):
    """A valid general journal POST, cash paid into the bank (Accounts receivable is refused there;
    post data is built outside the tenant context: objects come through world.get, which enters it)."""
    return {
        "effective_date": timezone.localdate().isoformat(), "currency": world.org.base_currency,
        "memo": "Matrix adjustment", "reason": "testing the matrix", "idempotency_key": uuid.uuid4().hex,
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-account": world.get("bank_account").pk, "lines-0-debit": "5.00", "lines-0-credit": "",
        "lines-1-account": world.get("cash_account").pk, "lines-1-debit": "", "lines-1-credit": "5.00",
    }


register_url("journal_entry", pk="manual_entry")
register_url("journal_reverse", pk="manual_entry", post=lambda w: {"reason": "matrix reversal", "effective_date": ""})
register_url("journal_new", post=journal_form)
register_url("ledger_verify", post=lambda w: {"next": ""})
register_url("account_create", post=lambda w: {"new-code": "8888", "new-name": "Matrix account",
                                               "new-type": "expense"})
register_url("account_edit", pk="spare_account", post=lambda w: {"code": "7777", "name": "Renamed spare",
                                                                 "type": "expense"})
register_url("account_delete", pk="spare_account", post=lambda w: {})
register_url("customer_ledger_csv", pk="customer")
register_url("period_lock", post=lambda w: {"action": "books_start", "day": "2000-01-01", "reason": "matrix"})
register_url("audit_log")


# The matrix's organization has had no clean check: the checkpoint download redirects to the
# history with a message (tests/ledger/test_checkpoints.py downloads a real one).
register_url("verification_checkpoint", get_status=302)
