"""CreditOverride now belongs to invoicing (invoicing 0004); the table stays. State only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0011_creditoverride_append_only'),
        ('invoicing', '0004_creditoverride_moves_here'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.DeleteModel(name='CreditOverride'),
    ])]
