"""Bulk actions on the invoice list (issue 21 point 3): the clerk ticks invoices, picks an action,
confirms once, and sees what happened to each row.

- `plan(org, action, ids)` says, per selected invoice, whether the action applies to it and, if
  not, why (it changes nothing);
- `run(org, action, ids, actor, base_url)` does it and returns one result per row.

Actions:
- **issue** drafts. Money moves, so it is all or nothing: every draft is issued in one
  transaction, and if any one is refused (credit control, lock date, no lines, archived customer)
  none is issued; the results name the refusal of each row that failed.
- **email** issued invoices to their customers' billing addresses with the organization's message
  (`invoicing.mail.draft_message`, the same text as "Issue & e-mail"). Invoices already e-mailed
  (queued or sent) are skipped, so a second submission of the same selection sends nothing twice;
  the invoice rows are locked while this is decided.
- **delete** drafts (issued invoices are never deleted: they are voided one by one, with a reason).

Apps above invoicing add actions with `register_action` (from their AppConfig.ready; invoicing
never imports them): reminders adds "send a reminder now" and "put on hold / dispute". A plugged
action says why it does not apply to an invoice and does it to one invoice; it runs under the
same row locks, one savepoint per invoice, as e-mailing does.

The selection is at most `MAX_SELECTED` rows (a list page holds 50); every id is looked up in the
organization (and row-level security scopes it again): ids of other organizations are not found.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selection
from accounts.ledger import LedgerError
from invoicing.mail import draft_message, emailed_annotation, queue_invoice_email
from invoicing.models import Invoice, InvoiceStatus
from invoicing.services import delete_draft, issue_invoice

MAX_SELECTED = 100

ACTIONS = {
    "issue": gettext_lazy("Issue drafts"),
    "email": gettext_lazy("E-mail to customers"),
    "delete": gettext_lazy("Delete drafts"),
}


class BulkError(LedgerError):
    pass


@dataclass
class PluggedAction:
    """An action another app adds. `why_not(invoice)` is "" when it applies; `do(invoice, actor,
    params)` does it and returns the note to show, or raises LedgerError / ValueError to refuse.
    `reasons` (value, label) makes the confirmation ask for params["reason"] among them."""
    label: object
    will: object
    why_not: Callable
    do: Callable
    reasons: list = field(default_factory=list)


PLUGGED: dict[str, PluggedAction] = {}


def register_action(key: str, action: PluggedAction) -> None:
    PLUGGED[key] = action
    ACTIONS[key] = action.label


def clean_params(action: str, data) -> dict:
    """What a plugged action needs besides the rows (a reason from its list), or BulkError."""
    plugged = PLUGGED.get(action)
    if plugged is None or not plugged.reasons:
        return {}
    reason = str(data.get("reason", ""))
    if reason not in {value for value, _label in plugged.reasons}:
        raise BulkError(_("Choose a reason from the list."))
    return {"reason": reason}


@dataclass
class Row:
    invoice: Invoice | None
    ok: bool
    note: str
    pk: int | None = None


INVOICE_REFUSALS = selection.Refusals(
    gettext_lazy("The selection is not valid; tick the invoices again."),
    gettext_lazy("Tick at least one invoice first."),
    gettext_lazy("Select at most %(n)s invoices at a time."))


def parse_ids(values) -> list[int]:
    """The ticked ids, in the order given, without repeats (accounts.selection), in the invoice list's words."""
    try:
        return selection.parse_ids(values, MAX_SELECTED, INVOICE_REFUSALS)
    except ValueError as e:
        raise BulkError(str(e)) from None


def _load(org, ids, lock=False) -> list[Row | Invoice]:
    qs = Invoice.objects.filter(organization=org, pk__in=ids)
    if lock:
        # Lock first, then read in a new statement: a subquery of the locking statement (emailed)
        # would still see the snapshot from before the wait, i.e. miss another clerk's e-mail.
        list(qs.select_for_update().order_by("pk").values_list("pk", flat=True))
    found = {inv.pk: inv for inv in qs.select_related("customer").annotate(emailed=emailed_annotation())}
    return [found.get(pk) or Row(None, False, _("Not found in this organization."), pk=pk) for pk in ids]


def _why_not(action: str, inv: Invoice) -> str:
    """Empty when the action applies to this invoice; otherwise the reason it is skipped."""
    if action in PLUGGED:
        return PLUGGED[action].why_not(inv)
    if action in ("issue", "delete"):
        return "" if inv.status == InvoiceStatus.DRAFT else _("Not a draft (%(status)s).") % {
            "status": inv.get_status_display()}
    if action == "email":
        if inv.status != InvoiceStatus.ISSUED:
            return _("Only an issued invoice can be e-mailed.")
        if inv.emailed:
            return _("Already e-mailed; to send it again, use Send on the invoice.")
        if not inv.customer.email_list:
            return _("%(customer)s has no billing e-mail.") % {"customer": inv.customer.name}
        return ""
    raise BulkError(_("Choose an action."))


def plan(org, action: str, ids: list[int]) -> list[Row]:
    if action not in ACTIONS:
        raise BulkError(_("Choose an action."))
    rows = []
    for item in _load(org, ids):
        if isinstance(item, Row):
            rows.append(item)
        else:
            reason = _why_not(action, item)
            will = PLUGGED[action].will if action in PLUGGED else _WILL[action]()
            rows.append(Row(item, not reason, reason or will))
    return rows


_WILL = {"issue": lambda: _("Will be issued."), "email": lambda: _("Will be e-mailed."),
         "delete": lambda: _("Will be deleted.")}


class _Refused(Exception):
    pass


def run(org, action: str, ids: list[int], actor=None, base_url: str = "", all_or_nothing: bool = True,
        params: dict | None = None) -> list[Row]:
    """With all_or_nothing=False (a background job over a whole filter) each draft is issued
    or refused on its own."""
    if action not in ACTIONS:
        raise BulkError(_("Choose an action."))
    if action == "issue":
        if all_or_nothing:
            return _issue_all(org, ids, actor)
        return [row for pk in ids for row in _issue_all(org, [pk], actor)]
    rows = []
    with transaction.atomic():
        for item in _load(org, ids, lock=True):
            if isinstance(item, Row):
                rows.append(item)
                continue
            reason = _why_not(action, item)
            if reason:
                rows.append(Row(item, False, reason))
                continue
            try:
                with transaction.atomic():
                    if action in PLUGGED:
                        note = PLUGGED[action].do(item, actor, params or {})
                    elif action == "email":
                        message = draft_message(item)
                        queue_invoice_email(item, item.customer.email_list, message["subject"], message["body"],
                                            actor=actor, base_url=base_url)
                        note = _("E-mail queued to %(to)s.") % {"to": ", ".join(item.customer.email_list)}
                    else:
                        label = str(_("Draft #%(n)s") % {"n": item.pk})
                        delete_draft(item)
                        note = _("%(draft)s deleted.") % {"draft": label}
            except LedgerError as e:
                rows.append(Row(item, False, " ".join(e.messages)))
            except ValueError as e:  # the plugged apps' own refusals (DisputeError, HoldError…)
                rows.append(Row(item, False, str(e)))
            else:
                rows.append(Row(item, True, note))
    return rows


def _issue_all(org, ids, actor) -> list[Row]:
    """Issue every selected draft, or none: one refusal rolls back the whole selection."""
    rows: list[Row] = []
    try:
        with transaction.atomic():
            refused = False
            for item in _load(org, ids, lock=True):
                if isinstance(item, Row):
                    rows.append(item)
                    continue
                reason = _why_not("issue", item)
                if reason:  # not a draft: skipped, not a refusal (a stale page, a double click)
                    rows.append(Row(item, False, reason))
                    continue
                try:
                    with transaction.atomic():
                        issued = issue_invoice(item, actor=actor)
                except LedgerError as e:
                    refused = True
                    rows.append(Row(item, False, " ".join(e.messages)))
                else:
                    rows.append(Row(issued, True, _("Issued as %(number)s.") % {"number": issued.number}))
            if refused:
                raise _Refused
    except _Refused:
        # Nothing was issued: say so on every row that would have been, and reload them as drafts.
        drafts = {inv.pk: inv for inv in Invoice.objects.filter(organization=org, pk__in=ids)
                  .select_related("customer")}
        rows = [Row(drafts.get(r.invoice.pk, r.invoice), False,
                    _("Not issued: nothing was issued because another invoice was refused."))
                if r.ok else r for r in rows]
    return rows
