"""Tenant isolation, both layers: RLS coverage, unfiltered queries, the application role."""

import pytest
from django.db import connection

from accounts.models import Customer, Membership
from ledger_site.tenancy import set_db_context, tenant_context
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db


def test_every_table_with_organization_id_has_forced_rls_and_a_policy():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'organization_id' AND NOT a.attisdropped)
        """)
        rows = cursor.fetchall()
    assert rows, "no tenant tables found"
    missing = [name for name, enabled, forced, policies in rows
               if not (enabled and forced and policies)]
    assert missing == [], f"tenant tables without forced RLS and a policy: {missing}"


def test_application_connects_as_a_role_without_superuser_or_bypassrls():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_unfiltered_orm_query_in_org_a_context_returns_no_row_of_org_b(world):
    org_a, org_b = world.org, world.other_org
    with tenant_context(org_a):
        CustomerFactory.create_batch(3, organization=org_a)
    with tenant_context(org_b):
        CustomerFactory.create_batch(2, organization=org_b)
    with tenant_context(org_a):
        assert set(Customer.objects.values_list("organization_id", flat=True)) == {org_a.pk}
        assert Customer.objects.count() == 3
        assert not Membership.objects.filter(organization=org_b).exists()


def test_no_context_sees_no_tenant_rows():
    org, _ = make_org()
    with tenant_context(org):
        CustomerFactory(organization=org)
    set_db_context(None, None)
    assert Customer.objects.count() == 0


def test_writing_a_row_for_another_organization_is_refused_by_the_database(world):
    from django.db import DatabaseError, transaction

    org_a, org_b = world.org, world.other_org
    with tenant_context(org_a), pytest.raises(DatabaseError), transaction.atomic():
        Customer.objects.create(organization=org_b, name="Intruder", code="X1", currency="EUR")


def test_raw_update_of_another_organizations_row_changes_nothing(world):
    org_a, org_b = world.org, world.other_org
    with tenant_context(org_b):
        victim = CustomerFactory(organization=org_b, name="Victim")
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_customer SET name = 'pwned' WHERE id = %s", [victim.pk])
        assert cursor.rowcount == 0
    with tenant_context(org_b):
        victim.refresh_from_db()
        assert victim.name == "Victim"
