"""Payments' search and amount indexes with the leakproof operator classes of accounts 0035
(accounts/search_indexes.py): the trigram index on the reference, remade under its name, and
(organization, amount, id) for the amount typed in the search."""

from django.db import migrations

from accounts.search_indexes import LeakproofSearchIndexes


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0035_leakproof_search_operators"),
        ("payments", "0016_bank_line_entry_link_parsed_statement"),
    ]

    operations = [LeakproofSearchIndexes("search_payment_trgm", "lp_payment_amount")]
