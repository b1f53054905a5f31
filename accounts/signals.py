"""After every migrate: grant the application role the rights it needs, nothing more."""

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver

# Every table carrying the ledger_refuse_change() triggers (accounts 0004, payments 0002 and 0003, reports 0011,
# reminders 0010 and 0025).
APPEND_ONLY_TABLES = ("accounts_journalentry", "accounts_journalline", "payments_allocation", "payments_refund",
                      "reports_creditoverride", "invoicing_creditnoteline", "invoicing_writeoff",
                      "invoicing_storeddocument", "accounts_sealrecord", "accounts_periodlockevent",
                      "accounts_auditevent", "payments_banklineevent", "accounts_verificationrun",
                      "reminders_latefeecharge", "accounts_revaluationline",
                      "reminders_disputeattachment")
# django-q2's tables: the worker's role only (accounts migration 0029).
QUEUE_TABLES = ("django_q_ormq", "django_q_schedule", "django_q_task")
# Tables frozen once issued except for maintained running figures (accounts.frozen): the
# ledger_guard_frozen() trigger's arguments (state column, editable states, mutable columns[, final states[,
# what still changes in them]]).
FROZEN_TABLES = {
    "invoicing_invoice": ("status", "draft", "amount_paid,amount_credited,amount_written_off,amount_due,status,"
                          "void_entry_id,disputed_at,dispute_reason,disputed_by_id,dispute_until,disputed_amount"),
    "invoicing_creditnote": ("", "", "amount_applied"),
    "invoicing_emaildelivery": ("guard_state", "unfixed", "status,attempts,max_attempts,last_error,next_attempt_at,"
                                "message_id,sent_at,document_id,pdf_sha256,lease_until,claim_token,result,"
                                "guard_state", "sent"),
    "payments_payment": ("", "", "amount_allocated,amount_refunded,reversed_at,reversal_entry_id,reversal_reason"),
    "reminders_remindermessage": ("status", "pending,sending,failed", ""),
    "invoicing_quote": ("status", "draft", "status,decided_at,decided_ip,invoice_id,converted_at,schedule_id",
                        "accepted,declined", "invoice_id,converted_at,schedule_id"),
}
# Rows of a document, changeable only while it is a draft (ledger_guard_child()'s arguments); domain rows
# frozen by the state of their e-mail in invoicing's outbox.
CHILD_TABLES = {
    "invoicing_invoiceline": ("invoicing_invoice", "invoice_id", "status", "draft", "UPDATE,DELETE"),
    "invoicing_invoiceevent": ("invoicing_invoice", "invoice_id", "status", "draft", "DELETE"),
    "invoicing_quoteline": ("invoicing_quote", "quote_id", "status", "draft", "UPDATE,DELETE"),
    # A consolidated reminder (its tone, its e-mail) changes only while its e-mail waits or is being
    # sent, as when the batch table held that e-mail's state itself (reminders 0025).
    "reminders_reminderbatch": ("invoicing_emaildelivery", "email_id", "status", "pending,sending,failed", "UPDATE"),
}
LEDGER_HEAD_UPDATABLE = ("last_seq", "last_hash", "verified_at", "verified_ok", "verified_message", "lock_date",
                         "books_start", "verified_seq", "verified_hash", "verified_seal_seq", "verified_seal_hash")
# What the application never does to them (a draft invoice and its lines and events are deleted;
# everything else issued stays).
NEVER_DELETED = ("invoicing_creditnote", "invoicing_emaildelivery", "payments_payment", "reminders_remindermessage",
                 "reminders_reminderbatch")


@receiver(post_migrate)
def grant_application_role(sender, using="default", **kwargs):
    if sender.name != "accounts":
        return
    role = connection.ops.quote_name(settings.APP_DB_USER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] in (settings.APP_DB_USER, settings.APP_WORKER_DB_USER):
            return  # a test's flush as the application or worker role: it could grant nothing anyway
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        # Append-only tables: the role cannot even ask (their triggers refuse everyone else).
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY_TABLES)} FROM {role}")
        # Seals are written only by the database's ledger_seal() (SECURITY DEFINER): the role can
        # neither forge a seal nor move the seal chain's head.
        cursor.execute(f"REVOKE INSERT ON accounts_sealrecord, accounts_auditevent FROM {role}")
        cursor.execute(f"REVOKE UPDATE ON accounts_ledgerhead FROM {role}")
        cursor.execute(f"GRANT UPDATE ({', '.join(LEDGER_HEAD_UPDATABLE)}) ON accounts_ledgerhead TO {role}")
        # Issue 22 #9: sessions only through the ledger_session_* functions (accounts/identity.py).
        cursor.execute(f"REVOKE ALL ON django_session FROM {role}")
        # Issue 22 #9: django-q2's tables are the worker's (its own role, a member of this one);
        # the application queues through ledger_task_enqueue() and friends (accounts 0029).
        queue = _existing(cursor, QUEUE_TABLES)
        if queue:
            cursor.execute(f"REVOKE ALL ON {', '.join(queue)} FROM {role}")
            if _role_exists(cursor, settings.APP_WORKER_DB_USER):
                worker = connection.ops.quote_name(settings.APP_WORKER_DB_USER)
                cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(queue)} TO {worker}")
        present = _existing(cursor, NEVER_DELETED)
        if present:
            cursor.execute(f"REVOKE DELETE, TRUNCATE ON {', '.join(present)} FROM {role}")


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def _existing(cursor, tables) -> list[str]:
    cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'", [list(tables)])
    return sorted(row[0] for row in cursor.fetchall())
