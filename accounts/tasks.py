"""The scheduled checks (django-q2, accounts migrations 0011 and 0014):

- `verify_all`, nightly: the full verify_ledger for every organization;
- `verify_recent`, every few minutes: the incremental check (accounts.ledger_verify_incremental)
  from where the last clean check ended.

Each run is recorded on the ledger head (what the dashboard's verification line and the owners'
banner show) and in the verification history, and one e-mail goes to the organization's owners
when a check finds a break that was not already known (verified_ok was not already False): a
break found again on the next run, full or incremental, is not mailed again; a repaired ledger
that breaks later is."""

import logging
import time

from django.conf import settings
from django.utils import timezone

from accounts.checkpoints import CHECKPOINT_HOOKS, mail_checkpoint, make_checkpoint
from accounts.ledger_verify import verify_organization
from accounts.ledger_verify_incremental import verify_since_last
from accounts.management.commands.verify_ledger import record_verification
from accounts.models import LedgerHead, Membership, Role
from accounts.org_directory import all_organizations
from ledger_site import mailer
from ledger_site.tenancy import tenant_context

log = logging.getLogger("ledgerline.seal")


def verify_all() -> dict:
    return _run(verify_organization, "full")


def verify_recent() -> dict:
    return _run(verify_since_last, "incremental")


def _run(check, kind) -> dict:
    checked, broken, mailed = 0, 0, 0
    started = time.perf_counter()
    for org in all_organizations():
        with tenant_context(org):
            result, told = _check(org, check, kind)
            checked += 1
            broken += not result.ok
            mailed += told
    return {"organizations": checked, "broken": broken, "mailed": mailed,
            "seconds": round(time.perf_counter() - started, 3)}


def _check(org, check, kind):
    """One organization's scheduled check, recorded; (result, 1 if its owners were told of a new break)."""
    known_broken = LedgerHead.objects.filter(organization=org, verified_ok=False).exists()
    one, started_at = time.perf_counter(), timezone.now()
    result = check(org)
    record_verification(org, result, kind=kind, trigger="schedule", started_at=started_at,
                        seconds=time.perf_counter() - one)
    told = 0
    if not result.ok:
        log.error("verify_ledger (%s): %s is broken: %s", kind, org.slug, result.problems[0])
        if not known_broken:
            told = _tell_owners(org, result)
    return result, told


def checkpoint_all() -> dict:
    """Nightly (accounts migration 0017): for each organization, check what is new since the last
    clean check and, when clean, sign a checkpoint at that point (accounts.checkpoints), e-mail it
    to the owners as an attachment and hand it to CHECKPOINT_HOOKS (the webhook outbox). A broken
    ledger gets no checkpoint (its break is mailed as by the other checks); an empty one neither."""
    sent, skipped = 0, 0
    for org in all_organizations():
        with tenant_context(org):
            result, _ = _check(org, verify_since_last, "incremental")
            head = LedgerHead.objects.filter(organization=org).first()
            if not result.ok or head is None or not head.verified_seq:
                skipped += 1
                continue
            checkpoint = make_checkpoint(org, head)
            mail_checkpoint(org, checkpoint)
            for hook in CHECKPOINT_HOOKS:
                hook(org, checkpoint)
            sent += 1
    return {"checkpoints": sent, "skipped": skipped}


def _tell_owners(org, result) -> int:
    emails = list(Membership.objects.filter(organization=org, role=Role.OWNER).values_list("user__email", flat=True))
    if not emails:
        return 0
    listed = "\n".join(f"- {p}" for p in result.problems[:20])
    more = f"\n… and {len(result.problems) - 20} more." if len(result.problems) > 20 else ""
    mailer.send_now(
        subject=f"{org.name}: the ledger check found a break",
        body=(f"The scheduled check of {org.name}'s ledger found {len(result.problems)} problem(s):\n\n"
                 f"{listed}{more}\n\nRun verify_ledger --org {org.slug} for the full list. This e-mail is sent "
                 "once; the verification history (Settings → Verification) shows every check."),
        to=emails,
    )
    return 1


def send_notices() -> dict:
    """Every minute: e-mail owners about sensitive master-data changes not yet noticed (accounts.notices)."""
    from accounts.notices import send_all

    return send_all()
def fetch_exchange_rates() -> dict:
    """Daily (accounts migration 0018): the rates file at FX_RATES_URL (e.g. the ECB's eurofxref-daily.xml)
    saved for every organization whose base currency the file can express. Nothing runs unless the
    deployment sets the URL. A batch with a problem or a jump beyond FX_RATE_JUMP_FACTOR is not saved for
    that organization (a person confirms it on the rates page) and is logged."""
    from accounts import fx
    from accounts.models_fx import RateSource

    url = getattr(settings, "FX_RATES_URL", "")
    if not url:
        return {"skipped": "FX_RATES_URL is not set"}
    data = fx.fetch(url)
    saved, refused = 0, {}
    for org in all_organizations():
        with tenant_context(org):
            try:
                parsed = fx.parse_file(data, org.base_currency)
                saved += fx.save_rates(org, parsed.rows, RateSource.FETCH)
            except fx.RateError as e:
                refused[org.slug] = e.problems
                logging.getLogger("ledgerline.fx").warning("exchange rates for %s not saved: %s", org.slug,
                                                           "; ".join(e.problems[:5]))
    return {"saved": saved, "refused": refused}
