"""The report dispatch's key to its e-mail, composite on organization_id (accounts.tenant_keys).

A migration of its own: Django adds a new model's foreign keys at the end of the migration that
creates it, after any operation in that migration could cover them."""

from django.db import migrations

from accounts.tenant_keys import CoverTenantForeignKeys


class Migration(migrations.Migration):

    dependencies = [("reports", "0021_customer_total_rls_triggers")]

    operations = [CoverTenantForeignKeys()]
