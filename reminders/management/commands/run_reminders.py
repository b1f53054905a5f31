"""Run the reminder scan now, or show what it would send.

    manage.py run_reminders --dry-run          # print what a scan now would send; write nothing
    manage.py run_reminders                    # one scan now, then deliver what it queued
    manage.py run_reminders --org acme --now 2026-05-01T09:00:00+00:00 --dry-run
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.money import format_money
from accounts.org_directory import all_organizations, organization_for_slug
from reminders.outbox import deliver
from reminders.scheduler import plan, scan


class Command(BaseCommand):
    help = "Run one reminder scan now (or --dry-run: print what would be sent)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be sent; change nothing.")
        parser.add_argument("--org", help="Only this organization (slug).")
        parser.add_argument("--now", help="Pretend it is this moment (ISO 8601 with offset).")
        parser.add_argument("--no-send", action="store_true",
                            help="Write the outbox rows but leave sending to the worker.")

    def handle(self, *args, dry_run=False, org=None, now=None, no_send=False, **options):
        moment = timezone.now()
        if now:
            try:
                moment = datetime.fromisoformat(now)
            except ValueError as e:
                raise CommandError(f"--now: {e}") from e
            if timezone.is_naive(moment):
                raise CommandError("--now needs a UTC offset, e.g. 2026-05-01T09:00:00+00:00")
        if org:
            found = organization_for_slug(org)
            if found is None:
                raise CommandError(f"No organization {org!r}.")
            orgs = [found]
        else:
            orgs = list(all_organizations())
        if dry_run:
            self._dry_run(orgs, moment)
            return
        result = scan(now=moment, org_ids=[o.pk for o in orgs],
                      enqueue=(lambda org_id, n: None) if not no_send else None)
        self.stdout.write(f"scan at {moment:%Y-%m-%d %H:%M %Z}: {result.queued} queued, {result.skipped} skipped "
                          f"(catch-up), {sum(o.paused for o in result.orgs)} organizations paused, "
                          f"{result.seconds:.2f}s")
        if no_send:
            return
        for o in result.orgs:
            if o.redeliver:
                report = deliver(o.organization_id, now=moment)
                self.stdout.write(f"  org {o.organization_id}: sent {report.sent}, retrying {report.retrying}, "
                                  f"failed {report.failed}, cancelled {report.cancelled}")

    def _dry_run(self, orgs, moment):
        total = 0
        for org in orgs:
            rows = plan(org.pk, moment)
            if not rows:
                continue
            self.stdout.write(self.style.MIGRATE_HEADING(f"{org.name} ({org.slug})"))
            for r in rows:
                sign = "+" if r.offset_days > 0 else ""
                what = "SEND" if r.send else "skip"
                to = r.emails or "CANNOT SEND: no e-mail"
                amount = format_money(r.amount_due, r.currency)
                self.stdout.write(f"  {what} {r.number:<18} day {sign}{r.offset_days:<4} {r.tone:<8} "
                                  f"{amount:>16}  {r.customer} <{to}>")
                total += r.send
        self.stdout.write(f"dry run at {moment:%Y-%m-%d %H:%M %Z}: {total} reminders would be sent; nothing written.")
