"""Seal issued invoices, credit notes, write-offs and stored PDFs into the chain (accounts.seals)."""

from django.db import migrations

from accounts.seals import backfill_sql, trigger_sql
from invoicing.seals import CREDIT_NOTE, INVOICE, PDF, WRITE_OFF


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0004_issued_documents_frozen"), ("accounts", "0007_seal_chain")]

    operations = [op for kind in (INVOICE, CREDIT_NOTE, WRITE_OFF, PDF) for op in (trigger_sql(kind), backfill_sql(kind))]
