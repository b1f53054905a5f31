"""Seal inserted invoices, write-offs and stored PDFs once per statement (accounts.seals,
statement_trigger_sql): a bulk insert moves the seal chain's head once, not twice per row. An
invoice issued later (its status UPDATE) is still sealed by its row trigger. Credit notes stay
sealed at commit, row by row."""

from django.db import migrations

from accounts.seals import statement_trigger_sql
from invoicing.seals import INVOICE, PDF, WRITE_OFF


class Migration(migrations.Migration):
    dependencies = [('invoicing', '0019_dispute_hold_history'), ("accounts", "0031_seal_rows")]

    operations = [statement_trigger_sql(kind) for kind in (INVOICE, WRITE_OFF, PDF)]
