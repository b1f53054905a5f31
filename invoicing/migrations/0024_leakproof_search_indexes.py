"""Invoices' search and total-filter indexes with the leakproof operator classes of accounts 0035
(accounts/search_indexes.py): the trigram index on number and reference, remade under its name,
and (organization, total, id) for the amount typed in the search and the list's total filter."""

from django.db import migrations

from accounts.search_indexes import LeakproofSearchIndexes


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0035_leakproof_search_operators"),
        ("invoicing", "0023_invoiceline_org_invoice"),
    ]

    operations = [LeakproofSearchIndexes("search_invoice_trgm", "lp_invoice_total")]
