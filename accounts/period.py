"""Period lock (DESIGN.md invariant 11): owners close the books up to a date; nothing dated on or
before it (or before the organization's books-start date) is posted, issued, voided, allocated,
written off or imported.

Where it is enforced:
- the one posting door: `ledger.post`'s statement reads the lock under the ledger head's row lock
  and writes nothing for a date outside the open period; `post` then refuses with
  `closed_message` (every issue, void, credit note, payment, refund, write-off and late fee
  posts through it, with its own date);
- allocations, which post nothing: `check_open` in payments.allocation;
- the database (accounts 0009, payments 0006): a trigger on journal entries and allocations
  refuses anything dated in a closed period, whichever way it arrives (the bulk door, a script).

The lock lives on the ledger head row, so closing takes the lock postings take: a posting either
commits before the period closes or sees it closed. Every change is a PeriodLockEvent (who,
when, from where, before, after, why); reopening is owner-only, needs a reason and is e-mailed
to the organization's other owners.
"""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import MAX_DAYS_BACK, LedgerError
from accounts.models import LedgerHead, Membership, PeriodLockEvent, Role
from ledger_site import mailer


class PeriodError(LedgerError):
    """A refused change of the lock; nothing was changed."""


def closed_message(lock_date: date | None, books_start: date | None, day: date) -> str:
    if lock_date is not None and day <= lock_date:
        return (_("The books are closed up to %(lock)s: nothing dated %(day)s can be recorded. "
                  "An owner can reopen the period.") % {"lock": lock_date.isoformat(), "day": day.isoformat()})
    if books_start is not None and day < books_start:
        return (_("The books start on %(start)s: nothing dated %(day)s can be recorded.")
                % {"start": books_start.isoformat(), "day": day.isoformat()})
    return ""


def oldest_day(today: date, books_start: date | None) -> date:
    """The oldest day anything can be dated: the ledger's window (MAX_DAYS_BACK before today), or the
    books start when it is earlier. History of any age is recorded from the day the books start;
    without a books start the window holds."""
    window = today - timedelta(days=MAX_DAYS_BACK)
    return books_start if books_start is not None and books_start < window else window


def state(org) -> tuple[date | None, date | None]:
    row = LedgerHead.objects.filter(organization=org).values_list("lock_date", "books_start").first()
    return row if row is not None else (None, None)


def check_open(org_id: int, day: date, error=LedgerError) -> None:
    """Raise `error` (a LedgerError; nothing changed) if `day` is outside the organization's open period."""
    row = LedgerHead.objects.filter(organization_id=org_id).values_list("lock_date", "books_start").first()
    if row is not None:
        message = closed_message(row[0], row[1], day)
        if message:
            raise error(message)


def _owner(org, actor) -> None:
    if actor is None or not Membership.objects.filter(organization=org, user=actor, role=Role.OWNER).exists():
        raise PeriodError(_("Only an owner can close or reopen a period."))


def _locked_head(org) -> LedgerHead:
    return LedgerHead.objects.select_for_update().get(organization=org)


def _log(org, actor, action, old, new, reason, ip) -> PeriodLockEvent:
    return PeriodLockEvent.objects.create(organization=org, at=timezone.now(), actor=actor, action=action,
                                          old_date=old, new_date=new, reason=reason[:500], ip=ip or None)


@transaction.atomic
def close_period(org, lock_date: date, *, actor, reason: str = "", ip: str | None = None) -> PeriodLockEvent:
    """Move the lock date forward to `lock_date` (owners only)."""
    _owner(org, actor)
    if not isinstance(lock_date, date):
        raise PeriodError(_("Give the last day of the period to close."))
    if lock_date >= org.today():
        raise PeriodError(_("A period can only be closed up to yesterday; %(day)s is not over yet.")
                          % {"day": lock_date.isoformat()})
    head = _locked_head(org)
    if head.books_start is not None and lock_date < head.books_start:
        raise PeriodError(_("The books start on %(start)s; a lock date before it means nothing.")
                          % {"start": head.books_start.isoformat()})
    if head.lock_date is not None and lock_date <= head.lock_date:
        raise PeriodError(_("The books are already closed up to %(lock)s. To move the date back, reopen.")
                          % {"lock": head.lock_date.isoformat()})
    old = head.lock_date
    LedgerHead.objects.filter(pk=head.pk).update(lock_date=lock_date)
    return _log(org, actor, PeriodLockEvent.Action.CLOSE, old, lock_date, reason.strip(), ip)


@transaction.atomic
def reopen_period(org, lock_date: date | None, *, actor, reason: str, ip: str | None = None) -> PeriodLockEvent:
    """Move the lock date back to `lock_date` (None: no lock at all). Owners only, with a reason;
    the other owners are told by e-mail once it is committed."""
    _owner(org, actor)
    if not (reason or "").strip():
        raise PeriodError(_("Say why the period is reopened."))
    head = _locked_head(org)
    if head.lock_date is None:
        raise PeriodError(_("No period is closed."))
    if lock_date is not None and lock_date >= head.lock_date:
        raise PeriodError(_("Reopening moves the lock date back, before %(lock)s.")
                          % {"lock": head.lock_date.isoformat()})
    if lock_date is not None and head.books_start is not None and lock_date < head.books_start:
        raise PeriodError(_("The books start on %(start)s; a lock date before it means nothing.")
                          % {"start": head.books_start.isoformat()})
    old = head.lock_date
    LedgerHead.objects.filter(pk=head.pk).update(lock_date=lock_date)
    event = _log(org, actor, PeriodLockEvent.Action.REOPEN, old, lock_date, reason.strip(), ip)
    transaction.on_commit(lambda: _tell_other_owners(org, actor, event))
    return event


@transaction.atomic
def set_books_start(org, books_start: date | None, *, actor, reason: str = "",
                    ip: str | None = None) -> PeriodLockEvent:
    """The first day the books cover (an import of older history may move it earlier). Owners only.
    Moving it earlier (or removing it) opens days to postings, as reopening does: it needs a
    reason, and the other owners are told by e-mail once it is committed."""
    _owner(org, actor)
    head = _locked_head(org)
    earlier = head.books_start is not None and (books_start is None or books_start < head.books_start)
    if earlier and not (reason or "").strip():
        raise PeriodError(_("Say why the books start is moved earlier."))
    if books_start is not None and books_start > org.today():
        raise PeriodError(_("The books cannot start in the future."))
    if books_start is not None and head.lock_date is not None and books_start > head.lock_date:
        raise PeriodError(_("The books are closed up to %(lock)s; they cannot start after that.")
                          % {"lock": head.lock_date.isoformat()})
    if books_start is not None:
        from accounts.models import JournalEntry

        earliest = (JournalEntry.objects.filter(organization=org).order_by("effective_date")
                    .values_list("effective_date", flat=True).first())
        if earliest is not None and books_start > earliest:
            raise PeriodError(_("The journal already has an entry dated %(day)s; the books cannot start after it.")
                              % {"day": earliest.isoformat()})
    old = head.books_start
    LedgerHead.objects.filter(pk=head.pk).update(books_start=books_start)
    event = _log(org, actor, PeriodLockEvent.Action.BOOKS_START, old, books_start, (reason or "").strip(), ip)
    if earlier:
        transaction.on_commit(lambda: _tell_other_owners(org, actor, event))
    return event


def _tell_other_owners(org, actor, event: PeriodLockEvent) -> None:
    emails = list(Membership.objects.filter(organization=org, role=Role.OWNER).exclude(user=actor)
                  .values_list("user__email", flat=True))
    if not emails:
        return
    if event.action == PeriodLockEvent.Action.BOOKS_START:
        new = event.new_date.isoformat() if event.new_date else _("no start date")
        subject = _("%(org)s: the books now start on %(new)s") % {"org": org.name, "new": new}
        what = _("%(who)s moved %(org)s's books start earlier on %(at)s.\n\nBooks start: %(old)s → %(new)s\n"
                 "Reason: %(reason)s\n")
    else:
        new = event.new_date.isoformat() if event.new_date else _("no lock")
        subject = _("%(org)s: the books were reopened back to %(new)s") % {"org": org.name, "new": new}
        what = _("%(who)s reopened %(org)s's books on %(at)s.\n\nLock date: %(old)s → %(new)s\nReason: %(reason)s\n")
    mailer.send_now(
        subject=subject,
        body=(what
                 % {"who": actor, "org": org.name, "at": event.at.strftime("%Y-%m-%d %H:%M UTC"),
                    "old": event.old_date.isoformat() if event.old_date else "-", "new": new,
                    "reason": event.reason}),
        to=emails,
    )
