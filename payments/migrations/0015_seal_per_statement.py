"""Seal inserted payments, refunds and allocations once per statement (accounts.seals,
statement_trigger_sql): the bulk door's one INSERT of a file's payments and allocations moves the
seal chain's head once, not twice per row."""

from django.db import migrations

from accounts.seals import statement_trigger_sql
from payments.seals import ALLOCATION, PAYMENT, REFUND


class Migration(migrations.Migration):
    dependencies = [('payments', '0014_payment_received_other_currency'), ("accounts", "0031_seal_rows")]

    operations = [statement_trigger_sql(kind) for kind in (PAYMENT, REFUND, ALLOCATION)]
