"""Credit limits and payment terms: the owner's decision (issue 13, controls).

A finance user proposes (`propose`), an owner approves (`approve`, which is the only thing that
changes the customer for a proposal) or rejects it with a note (`reject`); an owner may also change
them directly (`change`, or the customer form inside `owner_edit`). Every proposal and decision is
a row of `CreditTermsProposal`, and both it and the customer carry the audit trigger
(`ledger_audit`): who proposed, who decided, before and after are in the audit log.

The database backs the rule: `ledger_guard_credit_terms()` (accounts migration 0016) refuses an
UPDATE that changes a customer's credit limit or payment terms unless the transaction-local setting
`app.credit_terms_by_owner` is on, which only this module sets, after checking the actor is an
owner. So no other code path (a form, the API, an import, a script) changes them by accident. It
is a guard against forgetting the rule, not against someone who can run SQL as the application.

The organization's overdue threshold of credit control (a customer with invoices overdue by more
than that many days is flagged, and issuing to it needs an owner's override) is the other half of
the customer-credit rule and lives here too: `overdue_days(org)`, the same in SQL
`overdue_days_sql(org_id_expr)` (invoicing.credit_control's statements, reports' list), and
`set_overdue_days` (the owner's report settings page). It is kept on the organization row
(`Organization.credit_overdue_days`, audited like every organization change).
"""

from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CreditTermsProposal, Customer, Membership, Organization, ProposalStatus, Role
from accounts.models_org import DEFAULT_CREDIT_OVERDUE_DAYS, MAX_CREDIT_OVERDUE_DAYS
from accounts.notify import mail_owners

MAX_TERMS_DAYS = 365
MAX_LIMIT = Decimal("9999999999999999.99")


class CreditTermsError(ValueError):
    """A refused proposal or decision; nothing was changed."""


def role_of(org, user) -> str | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return Membership.objects.filter(organization=org, user=user).values_list("role", flat=True).first()


def _require(org, user, role: str, message: str) -> None:
    held = role_of(org, user)
    if held is None or Role.rank(held) < Role.rank(role):
        raise PermissionDenied(message)


def _require_owner(org, user) -> None:
    _require(org, user, Role.OWNER, _("Only an owner can change a customer's credit limit or payment terms."))


@contextmanager
def _owner_decision():
    """Lift the database's guard for this transaction's next statements (inside an atomic block)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.credit_terms_by_owner', 'on', true)")
    yield
    # On an error the (sub)transaction rolls back, and the setting with it.
    if not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.credit_terms_by_owner', '', true)")


@contextmanager
def owner_edit(org, actor):
    """An owner's customer form saves inside this (PermissionDenied for anyone else)."""
    _require_owner(org, actor)
    with transaction.atomic(), _owner_decision():
        yield


def clean_terms(credit_limit, payment_terms_days) -> tuple[Decimal, int]:
    try:
        limit = Decimal(str(credit_limit).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise CreditTermsError(_("The credit limit “%(value)s” is not an amount.") % {"value": credit_limit}) from None
    if not limit.is_finite() or limit < 0 or limit > MAX_LIMIT or limit != limit.quantize(Decimal("0.01")):
        raise CreditTermsError(_("The credit limit is an amount of 0 or more with at most two decimals "
                                 "(0 means no limit)."))
    try:
        days = int(str(payment_terms_days).strip())
    except ValueError:
        raise CreditTermsError(_("Payment terms are a whole number of days.")) from None
    if not 0 <= days <= MAX_TERMS_DAYS:
        raise CreditTermsError(_("Payment terms are between 0 and %(max)s days.") % {"max": MAX_TERMS_DAYS})
    return limit.quantize(Decimal("0.01")), days


# --- credit control's overdue threshold (the organization's) -------------------------------------

DEFAULT_OVERDUE_DAYS = DEFAULT_CREDIT_OVERDUE_DAYS


def overdue_days(org) -> int:
    """Credit control flags invoices overdue by more than this many days in `org`."""
    return org.credit_overdue_days


def overdue_days_sql(org_id: str) -> str:
    """`overdue_days` as an SQL scalar for the organization whose id is the expression `org_id`."""
    return f"(SELECT o.credit_overdue_days FROM accounts_organization o WHERE o.id = {org_id})"  # noqa: S608 - an id expression of the caller's SQL


def clean_overdue_days(value) -> int:
    try:
        days = int(str(value).strip())
    except ValueError:
        raise CreditTermsError(_("The overdue threshold is a whole number of days.")) from None
    if not 1 <= days <= MAX_CREDIT_OVERDUE_DAYS:
        raise CreditTermsError(_("The overdue threshold is between 1 and %(max)s days.")
                               % {"max": MAX_CREDIT_OVERDUE_DAYS})
    return days


@transaction.atomic
def set_overdue_days(org, days, *, actor) -> int:
    """An owner sets the organization's threshold (PermissionDenied for anyone else; a bad value
    raises CreditTermsError and changes nothing)."""
    _require(org, actor, Role.OWNER, _("Only an owner can change credit control's overdue threshold."))
    days = clean_overdue_days(days)
    Organization.objects.filter(pk=org.pk).update(credit_overdue_days=days)
    org.credit_overdue_days = days
    return days


def _locked(customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk, organization_id=customer.organization_id)


@transaction.atomic
def change(customer, *, actor, credit_limit, payment_terms_days) -> Customer:
    """An owner's own change, at once."""
    _require_owner(customer.organization, actor)
    limit, days = clean_terms(credit_limit, payment_terms_days)
    customer = _locked(customer)
    with _owner_decision():
        Customer.objects.filter(pk=customer.pk).update(credit_limit=limit, payment_terms_days=days)
    customer.refresh_from_db()
    return customer


@transaction.atomic
def propose(customer, *, actor, credit_limit, payment_terms_days, reason: str) -> CreditTermsProposal:
    """Finance (or an owner) asks the owners to change the credit limit and terms; nothing changes
    on the customer. The owners are told by e-mail after commit."""
    org = customer.organization
    _require(org, actor, Role.FINANCE, _("Only finance users and owners can propose credit terms."))
    limit, days = clean_terms(credit_limit, payment_terms_days)
    reason = (reason or "").strip()
    if not reason:
        raise CreditTermsError(_("Say why the credit terms should change."))
    customer = _locked(customer)
    if (limit, days) == (customer.credit_limit, customer.payment_terms_days):
        raise CreditTermsError(_("That is what %(customer)s has now: nothing to propose.") % {"customer": customer})
    if CreditTermsProposal.objects.filter(customer=customer, status=ProposalStatus.PENDING).exists():
        raise CreditTermsError(_("A proposal for %(customer)s is already waiting for an owner.")
                               % {"customer": customer})
    proposal = CreditTermsProposal.objects.create(
        organization=org, customer=customer, old_credit_limit=customer.credit_limit,
        old_payment_terms_days=customer.payment_terms_days, credit_limit=limit, payment_terms_days=days,
        reason=reason, proposed_by=actor)
    transaction.on_commit(lambda: _tell_owners_of_proposal(proposal))
    return proposal


def _decidable(proposal, actor) -> CreditTermsProposal:
    _require_owner(proposal.organization, actor)
    proposal = CreditTermsProposal.objects.select_for_update().select_related("customer", "organization").get(
        pk=proposal.pk, organization_id=proposal.organization_id)
    if proposal.status != ProposalStatus.PENDING:
        raise CreditTermsError(_("This proposal was already %(status)s.") % {"status": proposal.get_status_display()
                                                                               .lower()})
    return proposal


@transaction.atomic
def approve(proposal, *, actor, note: str = "") -> CreditTermsProposal:
    """The owner's yes: the customer gets the proposed terms now, in the same transaction."""
    proposal = _decidable(proposal, actor)
    customer = _locked(proposal.customer)
    if (customer.credit_limit, customer.payment_terms_days) != (proposal.old_credit_limit,
                                                                proposal.old_payment_terms_days):
        raise CreditTermsError(_("The customer's credit terms changed since this was proposed; reject it and "
                                 "propose again."))
    with _owner_decision():
        Customer.objects.filter(pk=customer.pk).update(credit_limit=proposal.credit_limit,
                                                       payment_terms_days=proposal.payment_terms_days)
    return _decide(proposal, actor, ProposalStatus.APPROVED, note)


@transaction.atomic
def reject(proposal, *, actor, note: str) -> CreditTermsProposal:
    proposal = _decidable(proposal, actor)
    if not (note or "").strip():
        raise CreditTermsError(_("Say why the proposal is rejected."))
    return _decide(proposal, actor, ProposalStatus.REJECTED, note)


def _decide(proposal, actor, status, note) -> CreditTermsProposal:
    proposal.status, proposal.decided_by, proposal.decided_at = status, actor, timezone.now()
    proposal.decision_note = (note or "").strip()
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return proposal


def _tell_owners_of_proposal(proposal) -> None:
    org, customer = proposal.organization, proposal.customer
    url = settings.PUBLIC_BASE_URL + reverse("credit_terms", kwargs={"org_slug": org.slug, "pk": customer.pk})
    mail_owners(
        org, _("%(org)s: credit terms proposed for %(customer)s") % {"org": org.name, "customer": customer.name},
        _("%(who)s proposes new credit terms for %(customer)s:\n\n"
          "Credit limit: %(old_limit)s → %(limit)s %(currency)s\nPayment terms: %(old_days)s → %(days)s days\n"
          "Why: %(reason)s\n\nNothing changes until an owner approves it: %(url)s\n")
        % {"who": proposal.proposed_by, "customer": customer, "old_limit": proposal.old_credit_limit,
           "limit": proposal.credit_limit, "currency": customer.currency, "old_days": proposal.old_payment_terms_days,
           "days": proposal.payment_terms_days, "reason": proposal.reason, "url": url},
        exclude=proposal.proposed_by)

