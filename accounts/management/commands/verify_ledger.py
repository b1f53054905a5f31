import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.checkpoints import CheckpointError, check_against, read_checkpoint
from accounts.ledger_verify import verify_organization
from accounts.models import LedgerHead, Organization, VerificationRun
from accounts.org_directory import all_organizations, load_if_present, organization_for_slug
from ledger_site.tenancy import tenant_context


class Command(BaseCommand):
    help = ("Recompute every organization's hash chain, sequence, entry balances, AR control and "
            "maintained balances; exit non-zero naming the first broken entry.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this organization (slug)")
        parser.add_argument("--against", metavar="CHECKPOINT.json",
                            help="also prove the history up to this signed checkpoint (downloaded from Settings → "
                                 "Verification) is unchanged; checks the checkpoint's organization")

    def handle(self, *args, org=None, against=None, **options):
        checkpoint = None
        if against:
            try:
                with open(against, encoding="utf-8") as f:
                    checkpoint = read_checkpoint(f.read())
            except OSError as e:
                raise CommandError(f"Cannot read {against}: {e.strerror}") from None
            except CheckpointError as e:
                raise CommandError(f"{against}: {e}") from None
        if checkpoint is not None:
            own = load_if_present(checkpoint["organization_id"])
            if own is None:
                raise CommandError(f"{against}: the checkpoint's organization ({checkpoint['organization']}) "
                                   "does not exist here")
            if org and org != own.slug:
                raise CommandError(f"{against}: the checkpoint belongs to another organization "
                                   f"({checkpoint['organization']}), not {org}")
            org = own.slug
        if org:
            found = organization_for_slug(org)
            if found is None:
                raise CommandError(f"No organization with slug {org!r}.")
            orgs = [found]
        else:
            orgs = all_organizations()
        failed = []
        for organization in orgs:
            started, started_at = time.perf_counter(), timezone.now()
            with tenant_context(organization):
                result = verify_organization(organization)
                if checkpoint is not None:
                    try:
                        for problem in check_against(organization, checkpoint):
                            result.fail(problem, checkpoint["seq"])
                    except CheckpointError as e:
                        raise CommandError(f"{against}: {e}") from None
                seconds = time.perf_counter() - started
                record_verification(organization, result, started_at=started_at, seconds=seconds)
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


def record_verification(org, result, *, kind="full", trigger="command", started_at=None, seconds=0.0) -> None:
    """The ledger head's summary (what the dashboard and the owners' banner show, and where the
    next incremental check starts when this one was clean) and one row of the history."""
    message = "OK" if result.ok else result.problems[0][:500]
    fields = {"verified_at": timezone.now(), "verified_ok": result.ok, "verified_message": message}
    with transaction.atomic():
        LedgerHead.objects.filter(organization=org).update(**fields)
        # The verified point moves only forward (a slower check that started earlier and ends
        # later must not pull it back), with the customers' figures at it, under the head's lock.
        if result.ok and result.to_seq is not None and LedgerHead.objects.filter(
                organization=org, verified_seq__lte=result.to_seq).update(
                verified_seq=result.to_seq, verified_hash=result.to_hash,
                verified_seal_seq=result.to_seal_seq, verified_seal_hash=result.to_seal_hash):
            _keep_customer_figures(org, result)
    # The banner's flag: set on the first failed check, cleared by a clean one (an UPDATE that
    # changes nothing otherwise, so the audit log records only the turns).
    if result.ok:
        Organization.objects.filter(pk=org.pk, ledger_check_failed_at__isnull=False).update(
            ledger_check_failed_at=None)
    else:
        Organization.objects.filter(pk=org.pk, ledger_check_failed_at__isnull=True).update(
            ledger_check_failed_at=fields["verified_at"])
    VerificationRun.objects.create(
        organization=org, started_at=started_at or timezone.now(), duration_ms=round(seconds * 1000),
        kind=kind, trigger=trigger, from_seq=result.from_seq, to_seq=result.to_seq or 0, entries=result.entries,
        seals=result.seals, ok=result.ok, problem_count=len(result.problems),
        problems=[p[:500] for p in result.problems[:50]], first_bad_seq=result.first_bad_seq)


_KEEP_FIGURES_SQL = """
UPDATE accounts_customerbalance b
SET verified_amount = coalesce(v.amount, b.verified_amount),
    verified_outside_docs = coalesce(v.outside_docs, b.verified_outside_docs)
FROM unnest(%s::bigint[], %s::varchar[], %s::numeric[], %s::numeric[]) AS v(customer_id, currency, amount, outside_docs)
WHERE b.organization_id = %s AND b.customer_id = v.customer_id AND b.currency = v.currency
  AND (b.verified_amount, b.verified_outside_docs)
      IS DISTINCT FROM (coalesce(v.amount, b.verified_amount), coalesce(v.outside_docs, b.verified_outside_docs))
"""


_KEEP_DAY_TOTALS_SQL = """
UPDATE accounts_accountdaytotal d SET verified_amount = v.amount
FROM unnest(%s::bigint[], %s::varchar[], %s::date[], %s::numeric[]) AS v(account_id, currency, day, amount)
WHERE d.organization_id = %s AND d.account_id = v.account_id AND d.currency = v.currency AND d.day = v.day
  AND d.verified_amount <> v.amount
"""


def _keep_customer_figures(org, result) -> None:
    """What the clean check saw per customer and account day at its end point, where the next
    incremental check starts from (accounts.ledger_verify_incremental); only rows that changed
    are written."""
    keys = sorted(set(result.balances) | set(result.outside_docs))
    days = sorted(result.day_totals)
    with connection.cursor() as c:
        if keys:
            c.execute(_KEEP_FIGURES_SQL, [[k[0] for k in keys], [k[1] for k in keys],
                                          [result.balances.get(k) for k in keys],
                                          [result.outside_docs.get(k) for k in keys], org.pk])
        if days:
            c.execute(_KEEP_DAY_TOTALS_SQL, [[k[0] for k in days], [k[1] for k in days], [k[2] for k in days],
                                             [result.day_totals[k] for k in days], org.pk])
