"""Helpers for the bank tests: a bank account on the Bank ledger account, statements dated today."""

from datetime import date
from decimal import Decimal

from accounts.chart import system_accounts
from payments.bank import commit_import, create_bank_account, stage_import
from payments.camt_writer import Entry, camt053_document

IBAN = "DE89370400440532013000"


def bank_account(org, name="Main account", currency="EUR", iban=IBAN):
    return create_bank_account(org, name=name, currency=currency, account=system_accounts(org)["bank"], iban=iban)


def camt(entries, opening="0.00", statement_id="STMT-T", day=None):
    day = day or date.today()
    return camt053_document(iban=IBAN, currency="EUR", opening=Decimal(opening), statement_id=statement_id,
                            entries=[Entry(day, Decimal(a), *rest) for a, *rest in entries])


def import_lines(account, entries, actor=None, **kwargs):
    """Stage and commit a CAMT.053 file of (amount, party, text, ref, iban) tuples; return its lines."""
    imp = commit_import(stage_import(account, filename="t.xml", data=camt(entries, **kwargs), actor=actor),
                        actor=actor)
    return list(imp.lines.order_by("pk"))
