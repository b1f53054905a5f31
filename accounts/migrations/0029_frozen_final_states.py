"""Issue 13: ledger_guard_frozen() takes an optional fourth argument, the final states in which not
even the mutable columns change (accounts.frozen); the delivery log uses it (invoicing 0018)."""

from django.db import migrations

from accounts.frozen import FUNCTIONS


class Migration(migrations.Migration):
    dependencies = [('accounts', '0028_journal_line_base_amount')]

    operations = [migrations.RunSQL(FUNCTIONS, migrations.RunSQL.noop)]
