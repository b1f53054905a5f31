"""Issue 22 #6 for the payment plans and the contact log (issue 19 #7, #6): their foreign keys to other
tenant tables get the composite (organization_id, id) form."""

from django.db import migrations

from accounts.tenant_keys import CoverTenantForeignKeys


class Migration(migrations.Migration):

    dependencies = [
        ("reminders", "0019_payment_plans"),
    ]

    operations = [CoverTenantForeignKeys()]
