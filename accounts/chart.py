"""The chart of accounts every organization starts with, and lookups by system key."""

from django.utils.translation import gettext_noop as N_

from accounts.models_ledger import Account, AccountType, LedgerHead

GENESIS_HASH = "0" * 64

# (system key, code, name, type). The posting rules refer to accounts by these keys.
DEFAULT_CHART = [
    ("bank", "1000", N_("Bank"), AccountType.ASSET),
    ("cash", "1010", N_("Cash"), AccountType.ASSET),
    ("card", "1020", N_("Card clearing"), AccountType.ASSET),
    ("ar", "1100", N_("Accounts receivable"), AccountType.ASSET),
    ("tax", "2100", N_("Sales tax payable"), AccountType.LIABILITY),
    ("revenue", "4000", N_("Sales revenue"), AccountType.INCOME),
    ("returns", "4100", N_("Sales returns and allowances"), AccountType.INCOME),
    ("late_fee", "4200", N_("Late-fee income"), AccountType.INCOME),
    ("bad_debt", "6100", N_("Bad-debt expense"), AccountType.EXPENSE),
    ("rounding", "6900", N_("Rounding"), AccountType.EXPENSE),
]


def seed_chart(org) -> None:
    """Called when an organization is created (accounts.services.ORG_CREATED_HOOKS)."""
    Account.objects.bulk_create([
        Account(organization=org, system_key=key, code=code, name=name, type=type_)
        for key, code, name, type_ in DEFAULT_CHART
    ])
    LedgerHead.objects.create(organization=org, last_seq=0, last_hash=GENESIS_HASH)


def system_account(org, key: str) -> Account:
    return Account.objects.get(organization=org, system_key=key)


def system_accounts(org) -> dict[str, Account]:
    return {a.system_key: a for a in Account.objects.filter(organization=org, system_key__isnull=False)}


OPENING = ("opening", "3900", N_("Opening balances"), AccountType.EQUITY)


def opening_balance_account(org) -> Account:
    """The equity account that balances customer balances brought in from another system (the
    opening-balances import). Made when first needed, so organizations of any age have it."""
    key, code, name, type_ = OPENING
    account, _created = Account.objects.get_or_create(organization=org, system_key=key,
                                                      defaults={"code": code, "name": name, "type": type_})
    return account
