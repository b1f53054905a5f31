"""E-mail to the owners when sensitive master data changes (issue 13, controls): a customer's
billing e-mails, the organization's bank details (invoice settings) and bank accounts' IBANs.

Driven by the audit log, not by the views: every change of those tables is already an
AuditEvent written by the database's trigger (who, when, from where, before, after), whatever
code path or role made it. `send_change_notices(org)` reads the events after the last one
noticed, e-mails the owners one message per event (old and new values, bank numbers masked, who
and from where) and records a `ChangeNotice` per event in the same transaction, under a per-
organization advisory lock: a message is sent at most once per committed notice row, and a
failed send rolls back and is retried.

It runs right after a change commits (a post_save hook on each registered model) and, for what
arrives another way (SQL, bulk updates), from the worker's schedule every minute
(`accounts.tasks.send_notices`, accounts migration 0017).

Apps register what is sensitive in their tables with `register(...)` (accounts cannot import
them: the dependency direction).
"""

import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, Q
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEvent, ChangeNotice, Organization
from accounts.notify import mail_owners, owner_emails
from accounts.org_directory import all_organizations, load
from ledger_site.tenancy import tenant_context

LOCK_KEY = 0x1EDC_0013  # pg_advisory_xact_lock(LOCK_KEY, organization_id)


@dataclass(frozen=True)
class Sensitive:
    table: str
    fields: tuple[str, ...]
    noun: str  # "customer", "invoice settings", "bank account"
    masked: tuple[str, ...] = ()  # fields whose values are masked in the e-mail
    rows: bool = False  # a new or removed row is a change too (a bank account added)
    name_field: str = ""  # what names the row in the message


SENSITIVE: dict[str, Sensitive] = {}


def register(sensitive: Sensitive, model=None) -> None:
    SENSITIVE[sensitive.table] = sensitive
    if model is not None:
        post_save.connect(_after_save, sender=model, dispatch_uid=f"notices-{sensitive.table}", weak=False)


def _after_save(sender, instance, **kwargs):
    org_id = getattr(instance, "organization_id", None) or getattr(instance, "pk", None)
    if org_id is not None:
        transaction.on_commit(lambda: send_change_notices(org_id), robust=True)


def _register_customers():
    from accounts.models import Customer

    register(Sensitive("accounts_customer", ("billing_emails",), "customer", name_field="name"), Customer)


_register_customers()


# IBANs and long account numbers: keep what identifies them to a person (the first four, the last
# four), hide the middle, so the e-mail is no use to someone who reads it in transit.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){8,30}\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d(?:[ -]?\d){5,}")


def _mask_one(match: re.Match) -> str:
    raw = match.group(0)
    compact = re.sub(r"[ -]", "", raw)
    return compact[:4] + "•" * max(len(compact) - 8, 2) + compact[-4:] if len(compact) > 8 else "•" * len(compact)


def mask(value: str) -> str:
    return _DIGITS.sub(_mask_one, _IBAN.sub(_mask_one, value or ""))


def _candidates(org):
    last = ChangeNotice.objects.filter(organization=org).aggregate(m=Max("audit_event_id"))["m"] or 0
    touched = Q()
    for sensitive in SENSITIVE.values():
        of_table = Q(table_name=sensitive.table)
        changed = Q()
        for field in sensitive.fields:
            changed |= Q(changed__contains=[field])
        when = Q(action="update") & changed
        if sensitive.rows:
            when |= Q(action__in=["insert", "delete"])
        touched |= of_table & when
    return (AuditEvent.objects.filter(touched, organization=org, pk__gt=last).select_related("actor")
            .order_by("pk"))


def send_change_notices(org) -> int:
    """E-mail the owners about each sensitive change not yet noticed; the number of messages."""
    org = org if isinstance(org, Organization) else load(org)
    sent = 0
    with tenant_context(org), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_KEY, org.pk])
        for event in _candidates(org):
            recipients = _send(org, event)
            ChangeNotice.objects.create(organization=org, audit_event=event,
                                        sent_at=timezone.now() if recipients else None,
                                        recipients=", ".join(recipients))
            sent += bool(recipients)
    return sent


def _send(org, event) -> list[str]:
    sensitive = SENSITIVE[event.table_name]
    row = event.after or event.before or {}
    name = row.get(sensitive.name_field, "") if sensitive.name_field else ""
    what = f"{sensitive.noun} “{name}”" if name else sensitive.noun
    lines = []
    for field in sensitive.fields:
        before = (event.before or {}).get(field)
        after = (event.after or {}).get(field)
        if event.action == "update" and before == after:
            continue
        show = mask if field in sensitive.masked else (lambda v: v or "")
        lines.append(_("%(field)s\n  before: %(before)s\n  after:  %(after)s") % {
            "field": field.replace("_", " "), "before": show(str(before or "")) or _("(empty)"),
            "after": show(str(after or "")) or _("(empty)")})
    action = {"insert": _("added"), "delete": _("removed"), "update": _("changed")}[event.action]
    who = event.actor.email if event.actor else _("a background task or a database session (no user)")
    body = (_("The %(what)s of %(org)s was %(action)s on %(at)s by %(who)s%(ip)s.\n\n%(lines)s\n\n"
              "If you did not expect this, check it now: payments and reminders follow these details. "
              "The audit log (Settings → Audit log) has the full record.\n")
            % {"what": what, "org": org.name, "action": action, "at": event.at.strftime("%Y-%m-%d %H:%M UTC"),
               "who": who, "ip": f" from {event.ip}" if event.ip else "", "lines": "\n".join(lines)})
    subject = _("%(org)s: %(what)s %(action)s") % {"org": org.name, "what": what, "action": action}
    recipients = owner_emails(org)
    if recipients:
        mail_owners(org, subject, body)
    return recipients


def send_all() -> dict:
    """The schedule's task: every organization's pending notices."""
    total = 0
    for org in all_organizations():
        total += send_change_notices(org)
    return {"sent": total}
