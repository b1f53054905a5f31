"""Issue 22 #6 again, for the tenant tables that came after 0013 (the collections portal's
disputes, promises and notifications): their foreign keys get the (organization_id, id) form too."""

from django.db import migrations

from accounts.tenant_keys import CoverTenantForeignKeys


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0014_dso_formula"),
        ("accounts", "0022_search_indexes"),
        ("invoicing", "0012_partial_dispute"),
        ("payments", "0011_list_indexes_from_sorting"),
        ("reminders", "0013_collections"),
    ]

    operations = [CoverTenantForeignKeys()]
