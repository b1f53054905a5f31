from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.org_directory import organization_for_slug
from ledger_site.tenancy import tenant_context
from reports import auditor_pack
from reports.journal_export import ExportError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = ("Write the auditor pack of a period (journal, trial balance, AR tie-out, documents with a SHA-256 "
            "manifest, FEC, verification) to a ZIP file; for periods too long to download from the page.")

    def add_arguments(self, parser):
        parser.add_argument("org", help="the organization's slug")
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--out", help="file to write (default: the pack's own name in this directory)")

    def handle(self, *args, org, start, end, out=None, **options):
        organization = organization_for_slug(org)
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        with tenant_context(organization):
            try:
                pack = auditor_pack.build(organization, _day(start), _day(end))
            except ExportError as e:
                raise CommandError(str(e)) from None
        path = out or pack.filename
        with open(path, "wb") as f:
            f.write(pack.content)
        verdict = "verified" if pack.verified else "VERIFICATION FAILED"
        self.stdout.write(f"{path}: {pack.documents} documents, ledger {verdict}")
        if not pack.verified:
            raise CommandError("The ledger did not verify; the pack says what failed (verification.txt).")
