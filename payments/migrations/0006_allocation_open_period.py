"""No allocation dated in a closed period (accounts 0009's guard)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_seal_triggers"), ("accounts", "0009_period_lock")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER payments_allocation_open_period BEFORE INSERT ON payments_allocation "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_closed_period();",
            "DROP TRIGGER payments_allocation_open_period ON payments_allocation;",
        ),
    ]
