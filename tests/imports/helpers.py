import io

from accounts.imports import get_importer
from accounts.imports.engine import run, suggest_mapping
from accounts.imports.parsing import open_table
from ledger_site.tenancy import tenant_context


def csv_bytes(text: str, encoding="utf-8") -> bytes:
    return text.encode(encoding)


def do_import(org, kind, data: bytes, *, commit=True, mapping=None, options=None, actor=None, filename="f.csv",
              progress=None):
    importer = get_importer(kind)
    table = open_table(data, filename)
    with tenant_context(org, actor):
        return run(org, importer, table, mapping or suggest_mapping(importer, table.headers), options or {},
                   actor=actor, commit=commit, progress=progress)


def xlsx_bytes(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CUSTOMERS = "code,name,currency,email\n0042,Acme Ltd,EUR,ap@acme.example\n0043,Beta Co,EUR,\n"
INVOICES = ("number,customer_code,issue_date,due_date,description,quantity,unit_price,tax\n"
            "OLD-001,0042,2025-03-15,2025-04-14,Consulting,2,500.00,20\n"
            "OLD-001,0042,2025-03-15,2025-04-14,Travel,1,50,0\n"
            "OLD-002,0043,2025-03-20,,Support,1,120.00,0\n")
PAYMENTS = ("customer_code,received_date,amount,reference,invoices\n"
            "0042,2025-04-01,600.00,R1,OLD-001=600\n"
            "0043,2025-04-02,120.00,R2,\n")
