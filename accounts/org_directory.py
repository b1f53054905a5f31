"""What the application may know about organizations outside their context (issue 22 #9).

`accounts_organization` has row-level security (accounts migration 0029): a session sees the
organization of its tenant context and those its signed-in user belongs to. The few questions
asked without either go through SECURITY DEFINER functions that answer only that question.
"""

from django.db import connection


def organization_ids() -> list[int]:
    """Every organization's id, for the scheduled loops that enter each one in turn
    (`with tenant_context(org_id): ...`). Ids only: names and settings stay behind RLS."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_organization_ids()")
        return [row[0] for row in cursor.fetchall()]


def slug_taken(slug: str, except_pk: int | None = None) -> bool:
    """Is this address used by another organization (sign-up, settings)?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_organization_slug_taken(%s, %s)", [slug, except_pk])
        return bool(cursor.fetchone()[0])


def organization_for_slug(slug: str):
    """The organization at this address, loaded in its own context, or None (management commands
    that name an organization)."""
    from accounts.models import Organization
    from ledger_site.tenancy import tenant_context

    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_organization_for_slug(%s)", [slug])
        org_id = cursor.fetchone()[0]
    if org_id is None:
        return None
    with tenant_context(org_id):
        return Organization.objects.get(pk=org_id)


def load(org_id: int):
    """The organization with this id, read in its own context."""
    from accounts.models import Organization
    from ledger_site.tenancy import tenant_context

    with tenant_context(org_id):
        return Organization.objects.get(pk=org_id)


def all_organizations():
    """Each organization in id order, each read in its own context (a generator: one at a time)."""
    for org_id in organization_ids():
        organization = load_if_present(org_id)
        if organization is not None:
            yield organization


def load_if_present(org_id: int):
    from accounts.models import Organization
    from ledger_site.tenancy import tenant_context

    with tenant_context(org_id):
        return Organization.objects.filter(pk=org_id).first()
