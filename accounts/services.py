"""Organization and membership changes: the rules live here, views only call them."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer, Membership, Organization, Role, User
from ledger_site.tenancy import tenant_context

ORG_CREATED_HOOKS = []  # callables(org): e.g. the ledger seeds the chart of accounts


@transaction.atomic
def create_organization(owner: User, **fields) -> Organization:
    org = Organization.objects.create(**fields)
    with tenant_context(org, owner):
        Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
        for hook in ORG_CREATED_HOOKS:
            hook(org)
    return org


def change_role(membership: Membership, role: str) -> None:
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])


def remove_member(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    membership.delete()


def _ensure_another_owner(membership: Membership) -> None:
    owners = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not owners.exists():
        raise ValidationError(_("An organization needs at least one owner. Make someone else owner first."))


def suggest_customer_code(org: Organization, name: str) -> str:
    base = re.sub(r"[^A-Z0-9]", "", name.upper())[:6] or "CUST"
    taken = set(
        Customer.objects.filter(organization=org, code__startswith=base).values_list("code", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
