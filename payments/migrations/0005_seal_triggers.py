"""Seal payments, refunds and allocations into the chain (accounts.seals)."""

from django.db import migrations

from accounts.seals import backfill_sql, trigger_sql
from payments.seals import ALLOCATION, PAYMENT, REFUND


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_payment_frozen"), ("accounts", "0007_seal_chain"),
                    ("invoicing", "0005_seal_triggers")]

    operations = [op for kind in (PAYMENT, REFUND, ALLOCATION) for op in (trigger_sql(kind), backfill_sql(kind))]
