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


REALIZED_FX = {
    True: ("fx_gain", "4900", N_("Realized exchange gain"), AccountType.INCOME),
    False: ("fx_loss", "6800", N_("Realized exchange loss"), AccountType.EXPENSE),
}


# Money received in one currency for a customer whose account is in another passes through this
# account (payments.services.record_payment): it holds the received currency on one side and the
# account's currency on the other, and is always zero in the base currency (docs/currencies.md).
CONVERSION = ("fx_conversion", "1090", N_("Currency conversion"), AccountType.ASSET)


def conversion_account(org) -> Account:
    """The currency conversion account of a cross-currency receipt: made when first needed."""
    return account_on_first_use(org, CONVERSION)


UNREALIZED_FX = {
    True: ("fx_unrealized_gain", "4910", N_("Unrealized exchange gain"), AccountType.INCOME),
    False: ("fx_unrealized_loss", "6810", N_("Unrealized exchange loss"), AccountType.EXPENSE),
}


def unrealized_fx_account(org, gain: bool) -> Account:
    """Where a period end's revaluation goes (accounts.revaluation): made when first needed."""
    return account_on_first_use(org, UNREALIZED_FX[gain])


def realized_fx_account(org, gain: bool) -> Account:
    """Where a realized exchange difference goes (issue 17; payments.allocation posts it): made when
    first needed, like the opening-balances account, so organizations of any age have it."""
    return account_on_first_use(org, REALIZED_FX[gain])


# Where a write-off is booked, by its kind (invoicing.services.write_off): bad debt is in every
# chart; a short payment's difference booked as an early-payment discount or a bank fee goes to an
# account made on first use (issue 16).
WRITE_OFF_ACCOUNTS = {
    "discount": ("discount_allowed", "6200", N_("Discounts allowed"), AccountType.EXPENSE),
    "bank_fee": ("bank_charges", "6300", N_("Bank charges"), AccountType.EXPENSE),
}


def write_off_account(org, kind: str) -> Account:
    if kind == "bad_debt":
        return system_account(org, "bad_debt")
    return account_on_first_use(org, WRITE_OFF_ACCOUNTS[kind])


def account_on_first_use(org, spec) -> Account:
    """The system account `spec` = (key, code, name, type), made the first time it is needed. An
    organization's own account already holding the usual code moves the new one to the next free
    code. Two first uses at once: the loser of the unique (organization, system key) race reads
    the winner's row."""
    from django.db import IntegrityError, transaction

    key, code, name, type_ = spec
    account = Account.objects.filter(organization=org, system_key=key).first()
    if account is not None:
        return account
    taken = set(Account.objects.filter(organization=org).values_list("code", flat=True))
    while code in taken:
        code = str(int(code) + 1)
    try:
        with transaction.atomic():
            return Account.objects.create(organization=org, system_key=key, code=code, name=name, type=type_)
    except IntegrityError:
        return Account.objects.get(organization=org, system_key=key)


def opening_balance_account(org) -> Account:
    """The equity account that balances customer balances brought in from another system (the
    opening-balances import). Made when first needed, so organizations of any age have it."""
    key, code, name, type_ = OPENING
    account, _created = Account.objects.get_or_create(organization=org, system_key=key,
                                                      defaults={"code": code, "name": name, "type": type_})
    return account
