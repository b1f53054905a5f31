"""The leakproof operators (and their index operator classes) that let row-level security use an
index for the search's and the lists' conditions (accounts/search_indexes.py says why), and the
customers' trigram index remade with them."""

from django.db import migrations

from accounts.search_indexes import LeakproofOperators, LeakproofSearchIndexes


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0034_saved_filters"),
    ]

    operations = [LeakproofOperators(), LeakproofSearchIndexes("search_customer_trgm")]
