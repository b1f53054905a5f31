from django.db import migrations

from accounts.rls import rls_for


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [
        rls_for(table)
        for table in ["invoicing_taxrate", "invoicing_invoicesettings", "invoicing_numberseries",
                      "invoicing_invoice", "invoicing_invoiceline", "invoicing_creditnote",
                      "invoicing_creditnoteline", "invoicing_writeoff", "invoicing_invoiceevent"]
    ]
