"""The customer a row of an import names by its code: one home for every import of documents
(invoices, credit notes, opening balances, payments).

    CUSTOMER_CODE                   the column, with the headings it is recognized by
    customers_by_code(org)          the organization's customers by code, read once in begin()
    find_customer(customers, row)   (the customer, []) or (None, [the row's error])
"""

from accounts.imports.base import Field, Row, RowError
from accounts.models import Customer

CUSTOMER_CODE = Field("customer_code", "Customer code", "code", required=True, max_length=20,
                      aliases=("customer", "customer code", "customer_code", "account"))


def customers_by_code(org) -> dict[str, Customer]:
    return {c.code: c for c in Customer.objects.filter(organization=org)}


def find_customer(customers: dict[str, Customer], row: Row) -> tuple[Customer | None, list[RowError]]:
    code = row.values["customer_code"].strip().upper()
    customer = customers.get(code)
    if customer is None:
        return None, [row.error("customer_code", f"No customer has the code {code}; import the customers first.")]
    return customer, []
