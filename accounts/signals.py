"""After every migrate: grant the application role the rights it needs, nothing more."""

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver

# Every table carrying the ledger_refuse_change() triggers (accounts 0004, payments 0002 and 0003, reports 0011).
APPEND_ONLY_TABLES = ("accounts_journalentry", "accounts_journalline", "payments_allocation", "payments_refund",
                      "reports_creditoverride", "payments_banklineevent")


@receiver(post_migrate)
def grant_application_role(sender, using="default", **kwargs):
    if sender.name != "accounts":
        return
    role = connection.ops.quote_name(settings.APP_DB_USER)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        # Append-only tables: the role cannot even ask (their triggers refuse everyone else).
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY_TABLES)} FROM {role}")
