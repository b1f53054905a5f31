import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.ledger_verify import verify_organization
from accounts.models import LedgerHead, Organization
from ledger_site.tenancy import tenant_context


class Command(BaseCommand):
    help = ("Recompute every organization's hash chain, sequence, entry balances, AR control and "
            "maintained balances; exit non-zero naming the first broken entry.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this organization (slug)")

    def handle(self, *args, org=None, **options):
        orgs = Organization.objects.order_by("pk")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                raise CommandError(f"No organization with slug {org!r}.")
        failed = []
        for organization in orgs:
            started = time.perf_counter()
            with tenant_context(organization):
                result = verify_organization(organization)
                record_verification(organization, result)
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"{organization.slug}: {result.entries} entries, {result.lines} lines, {result.seals} seals, "
                f"{result.documents} sealed rows checked (sequence, hash chain, balance per currency, AR lines, "
                f"customer balances, day totals, AR control, seal chain, documents, sub-ledger) "
                f"in {seconds:.2f}s: {'OK' if result.ok else 'BROKEN'}"
            )
            for problem in result.problems[:20]:
                self.stderr.write(f"  {problem}")
            if not result.ok:
                failed.append(result)
        if failed:
            first = failed[0]
            where = f"entry #{first.first_bad_seq}" if first.first_bad_seq else first.problems[0]
            raise CommandError(f"Ledger of {first.organization} is broken; first bad: {where}")


def record_verification(org, result) -> None:
    message = "OK" if result.ok else result.problems[0][:500]
    LedgerHead.objects.filter(organization=org).update(
        verified_at=timezone.now(), verified_ok=result.ok, verified_message=message)
