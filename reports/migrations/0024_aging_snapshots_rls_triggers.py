"""Period-end aging snapshots (issue 23 item 2): row-level security, the reopening trigger and the
daily schedule.

A snapshot is only written for a day on or before the lock date, when nothing dated that day or before
can change. Reopening the period (the lock date moved back or removed) deletes, in the same
transaction, every snapshot after the new lock date: whichever code moves the lock.

What moved in (S, D] is found through indexes the owning apps declare (rep_invoice_issued_day,
rep_allocation_invoice_org_day, rep_writeoff_org_day, rep_invoice_voided).
The daily schedule "reports: period-end snapshots" writes the missing month-ends up to each lock date.
"""

from django.db import migrations
from django.utils import timezone

from accounts.rls import rls_for

NAME = "reports: period-end snapshots"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "reports.tasks.take_snapshots", "schedule_type": "D", "repeats": -1,
                             "next_run": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()

TABLES = ["reports_agingsnapshot", "reports_snapshotopen", "reports_snapshottotal", "reports_snapshotdates"]

REOPEN = """
CREATE FUNCTION reports_snapshots_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep date := coalesce(NEW.lock_date, '-infinity'::date);
BEGIN
    DELETE FROM reports_agingsnapshot WHERE organization_id = NEW.organization_id AND day > keep;
    DELETE FROM reports_snapshotopen WHERE organization_id = NEW.organization_id AND day > keep;
    DELETE FROM reports_snapshottotal WHERE organization_id = NEW.organization_id AND day > keep;
    DELETE FROM reports_snapshotdates WHERE organization_id = NEW.organization_id AND day > keep;
    RETURN NULL;
END $$;
CREATE TRIGGER reports_snapshots_reopened AFTER UPDATE OF lock_date ON accounts_ledgerhead FOR EACH ROW
    WHEN (OLD.lock_date IS NOT NULL AND (NEW.lock_date IS NULL OR NEW.lock_date < OLD.lock_date))
    EXECUTE FUNCTION reports_snapshots_reopened();

"""
UNDO = """
DROP TRIGGER IF EXISTS reports_snapshots_reopened ON accounts_ledgerhead;
DROP FUNCTION IF EXISTS reports_snapshots_reopened();
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0023_aging_snapshots"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [*[rls_for(t) for t in TABLES], migrations.RunSQL(REOPEN, UNDO),
                  migrations.RunPython(create_schedule, remove_schedule)]
