"""A payment is frozen once recorded, except its maintained running figures and its reversal
(accounts.frozen)."""

from django.db import migrations

from accounts.frozen import frozen_sql


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_refund_submission"), ("accounts", "0006_frozen_guard_functions")]

    operations = [
        frozen_sql("payments_payment", mutable=("amount_allocated", "amount_refunded", "reversed_at",
                                                "reversal_entry_id", "reversal_reason")),
    ]
