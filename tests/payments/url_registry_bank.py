"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the bank pages."""


from ledger_site.tenancy import tenant_context
from tests.invoicing_helpers import issued
from tests.urlmatrix import register_object, register_url


@register_object("pay_bank_account")
def _bank_account(world):
    from tests.payments.bank_helpers import bank_account

    return bank_account(world.org)


@register_object("pay_bank_import")
def _bank_import(world):
    from payments.bank import stage_import
    from tests.payments.bank_helpers import camt

    return stage_import(world.get("pay_bank_account"), filename="m.xml", data=camt([("10.00", "A", "x", "M-1")]))


@register_object("pay_bank_line")
def _bank_line(world):
    from tests.payments.bank_helpers import import_lines

    invoice = issued(world.org, world.get("customer"), [("Work", "1", "12.00", None)], actor=world.owner)
    line, = import_lines(world.get("pay_bank_account"), [("12.00", "P", invoice.number, "L-1")])
    line.invoice_id, line.invoice_number = invoice.pk, invoice.number
    return line


@register_object("pay_bank_line_matched")
def _bank_line_matched(world):
    from payments.bank import confirm_match
    from tests.payments.bank_helpers import import_lines

    invoice = issued(world.org, world.get("customer"), [("Work", "1", "13.00", None)], actor=world.owner)
    line, = import_lines(world.get("pay_bank_account"), [("13.00", "P", invoice.number, "L-2")])
    return confirm_match(line, f"inv:{invoice.pk}", actor=world.owner)


def _account_form(world):
    from accounts.chart import system_accounts

    with tenant_context(world.org):
        cash = system_accounts(world.org)["cash"]
    return {"name": "Cash box", "currency": "EUR", "account": cash.pk, "iban": ""}


def _post_form(world):
    from accounts.chart import system_accounts

    with tenant_context(world.org):
        rounding = system_accounts(world.org)["rounding"]
    return {"account": rounding.pk, "reason": "fee"}


register_url("bank_account_create", post=_account_form)
register_url("bank_account_detail", pk="pay_bank_account")
register_url("statement_upload", pk="pay_bank_account")
register_url("bank_reconciliation", pk="pay_bank_account")
register_url("bank_reconcile", pk="pay_bank_account",
             post=lambda w: {"line": [w.get("pay_bank_line_matched").pk]})
register_url("statement_preview", pk="pay_bank_import")
register_url("statement_commit", pk="pay_bank_import", post=lambda w: {"action": "commit"})
register_url("bank_line_detail", pk="pay_bank_line")
register_url("bank_line_confirm", pk="pay_bank_line",
             post=lambda w: {"suggestion": f"inv:{w.get('pay_bank_line').invoice_id}"})
register_url("bank_line_post", pk="pay_bank_line", post=_post_form)
register_url("bank_line_split", pk="pay_bank_line", post=lambda w: {
    "advice": f"{w.get('pay_bank_line').invoice_number} 12.00", "action": "confirm",
    "expected": f"{w.get('pay_bank_line').invoice_id}:12.00"})
register_url("bank_line_unmatch", pk="pay_bank_line_matched", post=lambda w: {"reason": "wrong"})
