"""Issue 13: each bank-line event (append-only since payments 0003) is sealed (payments.seals);
the existing ones by the migration."""

from django.db import migrations

from accounts.seals import backfill_sql, trigger_sql
from payments.seals import BANK_LINE_EVENT


class Migration(migrations.Migration):
    dependencies = [('payments', '0012_payment_fx_rate_allocation_base'), ("accounts", "0029_frozen_final_states")]

    operations = [trigger_sql(BANK_LINE_EVENT), backfill_sql(BANK_LINE_EVENT)]
