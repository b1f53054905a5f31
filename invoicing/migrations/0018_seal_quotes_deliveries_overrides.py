"""Issue 13: sent quotes are frozen by the database and sealed with their lines, and the customer's
decision on them too once made (only the conversion still moves); the delivery log is frozen for
good once an e-mail is sent, and sealed then; credit-control overrides (append-only already) are
sealed. The rows that already exist are sealed by the migration (accounts.seals.backfill_sql)."""

from django.db import migrations

from accounts.frozen import child_sql, frozen_sql
from accounts.seals import backfill_sql, trigger_sql
from invoicing.seals import CREDIT_OVERRIDE, DELIVERY, QUOTE, QUOTE_DECISION

DELIVERY_MUTABLE = ("status", "attempts", "max_attempts", "last_error", "next_attempt_at", "message_id", "sent_at",
                    "document_id", "pdf_sha256", "lease_until", "claim_token")
QUOTE_CONVERSION = ("invoice_id", "converted_at", "schedule_id")
QUOTE_MUTABLE = ("status", "decided_at", "decided_ip") + QUOTE_CONVERSION


class Migration(migrations.Migration):
    dependencies = [('invoicing', '0017_document_fx_rate'), ("accounts", "0029_frozen_final_states")]

    operations = [
        frozen_sql("invoicing_quote", state="status", editable=("draft",), mutable=QUOTE_MUTABLE,
                   final=("accepted", "declined"), final_mutable=QUOTE_CONVERSION),
        child_sql("invoicing_quoteline", parent="invoicing_quote", fk="quote_id", state="status",
                  editable=("draft",), operations=("UPDATE", "DELETE")),
        migrations.RunSQL("DROP TRIGGER invoicing_emaildelivery_frozen ON invoicing_emaildelivery;"
                          " DROP TRIGGER invoicing_emaildelivery_frozen_truncate ON invoicing_emaildelivery;",
                          frozen_sql("invoicing_emaildelivery", mutable=DELIVERY_MUTABLE).sql),
        frozen_sql("invoicing_emaildelivery", state="status", mutable=DELIVERY_MUTABLE, final=("sent",)),
        *[op for kind in (QUOTE, QUOTE_DECISION, DELIVERY, CREDIT_OVERRIDE)
          for op in (trigger_sql(kind), backfill_sql(kind))],
    ]
