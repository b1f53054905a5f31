"""Through the API only: customer → draft → issue → pay → balance 0, and the ledger verifies."""

from django.core.management import call_command

from accounts.ledger_verify import verify_organization
from ledger_site.tenancy import tenant_context
from tests.api.helpers import draft_body, payment_body


def test_create_customer_draft_issue_pay_then_balance_is_zero_and_the_ledger_verifies(api_shop):
    api = api_shop.api
    r = api.post("/customers", {"name": "Acme Trading", "billing_emails": ["ap@acme.example"]})
    assert r.status_code == 201, r.content
    customer = r.json()
    assert customer["code"] == "ACMETR" and customer["currency"] == "EUR"

    r = api.post("/invoices", draft_body(customer["id"], lines=[
        {"description": "Consulting", "quantity": "2", "unit_price": "100.00"},
        {"description": "Travel", "quantity": "1", "unit_price": "45.50", "discount_percent": "10"}]))
    assert r.status_code == 201, r.content
    invoice = r.json()
    assert invoice["status"] == "draft" and invoice["total"] == "240.95" and len(invoice["lines"]) == 2

    r = api.post(f"/invoices/{invoice['id']}/issue", {})
    assert r.status_code == 200, r.content
    issued = r.json()
    assert issued["status"] == "issued" and issued["number"] and issued["amount_due"] == "240.95"

    r = api.get(f"/customers/{customer['id']}/balance")
    assert r.json() == {"customer_id": customer["id"], "currency": "EUR", "as_of": None, "balance": "240.95"}

    r = api.post("/payments", payment_body(customer["id"], "240.95"))
    assert r.status_code == 201, r.content
    payment = r.json()
    assert payment["allocations"][0]["invoice_id"] == invoice["id"] and payment["unapplied"] == "0.00"

    assert api.get(f"/customers/{customer['id']}/balance").json()["balance"] == "0.00"
    got = api.get(f"/invoices/{invoice['id']}").json()
    assert got["display_status"] == "paid" and got["amount_due"] == "0.00"

    history = api.get(f"/customers/{customer['id']}/transactions").json()
    assert [(t["amount"], t["balance"]) for t in history["items"]] == [("240.95", "240.95"), ("-240.95", "0.00")]

    with tenant_context(api_shop.org):
        assert verify_organization(api_shop.org).ok
    call_command("verify_ledger")
