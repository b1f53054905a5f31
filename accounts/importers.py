"""The customers importer: one row per customer, keyed on the customer code.

Each row goes through the customer form of the screens (accounts.forms.CustomerForm), so an
imported customer obeys exactly the rules of one typed in. A code that the organization already
has is matched, not changed: re-importing the same file creates nothing.
"""

from accounts.forms import CustomerForm
from accounts.imports import Field, Importer, Record, register
from accounts.models import Customer

TEXT_FIELDS = ("contact_person", "billing_emails", "phone", "tax_id", "billing_address", "language", "tags",
               "notes")


@register
class CustomerImporter(Importer):
    kind = "customers"
    label = "Customers"
    fields = (
        Field("code", "Customer code", "code", required=True, max_length=20,
              help="The code in your old system; kept as text (leading zeros too).",
              aliases=("customer code", "customer_code", "account", "customer no", "id")),
        Field("name", "Name", required=True, max_length=200, aliases=("customer", "company", "customer name")),
        Field("currency", "Currency", "code", max_length=3, help="Empty: the organization's base currency."),
        Field("billing_emails", "Billing e-mails", max_length=500, aliases=("email", "e-mail", "emails")),
        Field("contact_person", "Contact person", max_length=150, aliases=("contact",)),
        Field("phone", "Phone", max_length=40),
        Field("billing_address", "Billing address", max_length=1000, aliases=("address",)),
        Field("tax_id", "Tax id", max_length=50, aliases=("vat", "vat number", "tax number")),
        Field("payment_terms_days", "Payment terms (days)", "int", aliases=("terms", "payment terms")),
        Field("credit_limit", "Credit limit", "number"),
        Field("language", "Language", max_length=10),
        Field("tags", "Tags", max_length=300),
        Field("notes", "Notes", max_length=5000),
    )

    def begin(self, org, actor):
        return {"org": org, "codes": set(Customer.objects.filter(organization=org).values_list("code", flat=True)),
                "seen": {}, "customers_matched": 0}

    def check(self, state, rows):
        row = rows[0]
        v = row.values
        code = v["code"].strip().upper()
        if code in state["seen"]:
            return None, [row.error("code", f"The code {code} is also on row {state['seen'][code]} of this file.")]
        state["seen"][code] = row.number
        if code in state["codes"]:
            state["customers_matched"] += 1
            return Record(key=code, rows=[row.number], data=None, exists=True), []
        data = {"code": code, "name": v["name"], "currency": (v.get("currency") or state["org"].base_currency).upper(),
                "payment_terms_days": v.get("payment_terms_days") if v.get("payment_terms_days") is not None else 30,
                "credit_limit": v.get("credit_limit") if v.get("credit_limit") is not None else "0",
                "language": v.get("language") or "en"}
        for name in TEXT_FIELDS:
            if name not in data:
                data[name] = v.get(name) or ""
        form = CustomerForm(data=data, org=state["org"])
        if not form.is_valid():
            errors = []
            for name, messages in form.errors.items():
                for message in messages:
                    errors.append(row.error(name if name in row.raw else "code", message))
            return None, errors
        customer = form.save(commit=False)
        customer.organization = state["org"]
        return Record(key=code, rows=[row.number], data=customer, customer_created=True), []

    def write(self, state, records, progress):
        for start in range(0, len(records), 1000):
            batch = [r.data for r in records[start:start + 1000]]
            Customer.objects.bulk_create(batch)
            progress(len(batch))
        return {"customers": len(records)}


def _customer_rows(org):
    yield [f.name for f in CustomerImporter.fields]
    for c in Customer.objects.filter(organization=org).order_by("code"):
        yield [c.code, c.name, c.currency, c.billing_emails, c.contact_person, c.phone, c.billing_address, c.tax_id,
               str(c.payment_terms_days), f"{c.credit_limit.normalize():f}", c.language, c.tags, c.notes]


CustomerImporter.export_rows = staticmethod(_customer_rows)
