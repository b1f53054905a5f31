"""The audit trigger ignores `updated_at` (stamped on every UPDATE for the API's updated_since):
a save that changes nothing else logs nothing, and it is never listed as a changed column."""

from django.db import migrations

from accounts.audit import FUNCTION


class Migration(migrations.Migration):
    dependencies = [("accounts", "0012_merge_20261207_0320")]

    operations = [migrations.RunSQL(FUNCTION, migrations.RunSQL.noop)]
