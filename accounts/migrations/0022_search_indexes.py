"""The global search's trigram index on customers, where the database has pg_trgm
(accounts/search_indexes.py says why it is conditional)."""

from django.db import migrations

from accounts.search_indexes import TrigramSearchIndexes


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0021_org_locale'),
    ]

    operations = [TrigramSearchIndexes("search_customer_trgm")]
