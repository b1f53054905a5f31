"""Issue 22 #6: every foreign key between tenant tables becomes (organization_id, <col>) ->
(organization_id, id), so the database refuses a cross-tenant reference (accounts/tenant_keys.py).

It depends on every app's latest migration so that every tenant table exists. A later migration
that adds tenant tables calls `CoverTenantForeignKeys()` again (tests/test_tenant_keys.py says when)."""

from django.db import migrations

from accounts.tenant_keys import CoverTenantForeignKeys


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0012_creditoverride_moves_to_invoicing"),
        ("accounts", "0022_search_indexes"),
        ("invoicing", "0011_list_indexes_from_sorting"),
        ("payments", "0011_list_indexes_from_sorting"),
        ("reminders", "0012_step_currency_fees"),
    ]

    operations = [CoverTenantForeignKeys()]
