"""Issue 22 #6: the database itself refuses a reference from one organization to another's row.

Every foreign key between two tables with `organization_id` is composite
(organization_id, col) -> (organization_id, id) (accounts/tenant_keys.py). The coverage test reads
the catalog, so a table added later without `CoverTenantForeignKeys()` fails it by name."""

from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from accounts.tenant_keys import cover, uncovered
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.db_roles import owner_conninfo
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft

pytestmark = pytest.mark.django_db


def test_every_foreign_key_between_tenant_tables_is_composite_on_organization_id():
    with connection.cursor() as cursor:
        assert uncovered(cursor) == [], (
            "tenant->tenant foreign keys without organization_id: add a migration with "
            "accounts.tenant_keys.CoverTenantForeignKeys() after the one that created them")
        cursor.execute("""
            SELECT count(*) FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND a.attname = 'organization_id' AND array_length(c.conkey, 1) = 2
              AND c.condeferrable AND c.condeferred""")
        assert cursor.fetchone()[0] >= 79  # the 79 keys of issue 22's pass, and any added since


def _world():
    org_a, _ = make_org()
    org_b, _ = make_org()
    with tenant_context(org_a):
        customer_a = CustomerFactory(organization=org_a)
        invoice_a = draft(org_a, customer_a)
    with tenant_context(org_b):
        customer_b = CustomerFactory(organization=org_b)
        invoice_b = draft(org_b, customer_b)
    return org_a, customer_a, invoice_a, org_b, customer_b, invoice_b


def _copy(table, pk, **overrides):
    """INSERT a copy of row `pk` of `table` (new id) with some columns replaced."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                       " AND column_name <> 'id' ORDER BY ordinal_position", [table])
        columns = [row[0] for row in cursor.fetchall()]
    values = ["%s" if c in overrides else c for c in columns]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {table} WHERE id = %s"
    return sql, [overrides[c] for c in columns if c in overrides] + [pk]


def _refused(sql, params):
    """Run in a savepoint with the deferred keys checked now; return the database's error."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)
    return caught.value


def test_an_insert_in_org_a_pointing_at_org_bs_customer_or_invoice_is_refused():
    org_a, customer_a, invoice_a, org_b, customer_b, invoice_b = _world()
    with tenant_context(org_a):
        error = _refused(*_copy("invoicing_invoice", invoice_a.pk, customer_id=customer_b.pk))
        assert isinstance(error.__cause__, psycopg.errors.ForeignKeyViolation)
        assert "invoicing_invoice_customer_id_tenant_fk" in str(error)
        # A child row of org A pointing at org B's invoice (the pattern of every line and allocation).
        line_a = invoice_a.lines.first()
        error = _refused(*_copy("invoicing_invoiceline", line_a.pk, invoice_id=invoice_b.pk))
        assert isinstance(error.__cause__, psycopg.errors.ForeignKeyViolation)


def test_an_update_in_org_a_moving_a_row_onto_org_bs_customer_is_refused():
    org_a, customer_a, invoice_a, org_b, customer_b, invoice_b = _world()
    with tenant_context(org_a):
        error = _refused("UPDATE invoicing_invoice SET customer_id = %s WHERE id = %s", [customer_b.pk, invoice_a.pk])
        assert isinstance(error.__cause__, psycopg.errors.ForeignKeyViolation)
        assert Invoice.objects.get(pk=invoice_a.pk).customer_id == customer_a.pk


def test_a_foreign_id_and_a_missing_id_give_the_same_answer():
    """The old single-column key accepted org B's id and refused a missing one: an existence oracle."""
    org_a, customer_a, invoice_a, org_b, customer_b, invoice_b = _world()
    with tenant_context(org_a):
        foreign = _refused("UPDATE invoicing_invoice SET customer_id = %s WHERE id = %s",
                           [customer_b.pk, invoice_a.pk])
        missing = _refused("UPDATE invoicing_invoice SET customer_id = %s WHERE id = %s",
                           [customer_b.pk + 10_000_000, invoice_a.pk])
    assert type(foreign.__cause__) is type(missing.__cause__)
    assert foreign.__cause__.diag.constraint_name == missing.__cause__.diag.constraint_name


def test_the_same_organizations_reference_still_works():
    org_a, customer_a, invoice_a, org_b, customer_b, invoice_b = _world()
    with tenant_context(org_a):
        other = CustomerFactory(organization=org_a)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            Invoice.objects.filter(pk=invoice_a.pk).update(customer=other)
        assert Invoice.objects.get(pk=invoice_a.pk).customer_id == other.pk
        assert invoice_a.total == Decimal("240.00")


def test_the_operation_covers_a_table_added_later_and_refuses_its_cross_tenant_rows():
    """What a later migration's CoverTenantForeignKeys() does for another engineer's new tables."""
    with psycopg.connect(owner_conninfo()) as conn:  # one transaction, rolled back at the end
        cur = conn.cursor()
        cur.execute("""
            CREATE TABLE zz_parent (id bigserial PRIMARY KEY, organization_id bigint NOT NULL);
            CREATE TABLE zz_child (id bigserial PRIMARY KEY, organization_id bigint NOT NULL,
                                   parent_id bigint REFERENCES zz_parent (id) DEFERRABLE INITIALLY DEFERRED);
            INSERT INTO zz_parent (id, organization_id) VALUES (1, 1), (2, 2);
            INSERT INTO zz_child (organization_id, parent_id) VALUES (1, 1), (2, NULL);
        """)
        assert [row[1:3] for row in uncovered(cur)] == [("zz_child", "zz_parent")]
        assert cover(cur) == ["zz_child_parent_id_tenant_fk"]
        assert uncovered(cur) == [] and cover(cur) == []  # idempotent
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("INSERT INTO zz_child (organization_id, parent_id) VALUES (1, 2)")
        conn.execute("INSERT INTO zz_child (organization_id, parent_id) VALUES (2, 2)")
        conn.rollback()


def test_the_migration_refuses_to_cover_a_table_that_already_holds_a_cross_tenant_row():
    with psycopg.connect(owner_conninfo()) as conn:
        cur = conn.cursor()
        cur.execute("""
            CREATE TABLE zz_parent (id bigserial PRIMARY KEY, organization_id bigint NOT NULL);
            CREATE TABLE zz_child (id bigserial PRIMARY KEY, organization_id bigint NOT NULL,
                                   parent_id bigint REFERENCES zz_parent (id));
            INSERT INTO zz_parent (id, organization_id) VALUES (1, 1);
            INSERT INTO zz_child (organization_id, parent_id) VALUES (2, 1);
        """)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            cover(cur)
        conn.rollback()


def test_the_application_role_cannot_drop_the_guard():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE invoicing_invoice DROP CONSTRAINT invoicing_invoice_customer_id_tenant_fk")
