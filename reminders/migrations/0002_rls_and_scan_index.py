"""Row-level security on the reminder tables, and the index the reminder scan reads invoices by.

The index is on invoicing_invoice (an additive index, no change to the invoicing model): the
scan looks for open invoices of one organization whose due date lies in the window where some
schedule point can still fire, i.e. a range on (organization_id, due_date) over open invoices.
"""

from django.db import migrations

from accounts.rls import rls_for

TABLES = ["reminders_remindersettings", "reminders_reminderpolicy", "reminders_reminderstep",
          "reminders_customerremindersettings", "reminders_promisetopay", "reminders_remindermessage",
          "reminders_latefeecharge"]


class Migration(migrations.Migration):
    dependencies = [("reminders", "0001_initial"), ("invoicing", "0002_rls")]

    operations = [rls_for(table) for table in TABLES] + [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reminders_open_invoice_due ON invoicing_invoice "
            "(organization_id, due_date) INCLUDE (customer_id) "
            "WHERE status = 'issued' AND amount_due > 0 AND kind = 'invoice';",
            "DROP INDEX IF EXISTS reminders_open_invoice_due;",
        ),
    ]
