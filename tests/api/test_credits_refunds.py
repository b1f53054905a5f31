"""Credit notes and refunds through the API: the services' rules, the balance follows."""

from django.utils import timezone

from ledger_site.tenancy import tenant_context
from tests.api.helpers import draft_body, payment_body
from tests.factories import CustomerFactory


def _issued(api_shop):
    with tenant_context(api_shop.org):
        customer = CustomerFactory(organization=api_shop.org)
    invoice = api_shop.api.post("/invoices", draft_body(customer.pk)).json()
    return customer, api_shop.api.post(f"/invoices/{invoice['id']}/issue").json()


def test_crediting_an_invoice_reduces_what_is_due_and_the_balance(api_shop):
    customer, invoice = _issued(api_shop)
    r = api_shop.api.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "50.00", "reason": "Damaged"},
                      headers={"Idempotency-Key": "cn-1"})
    assert r.status_code == 201, r.content
    note = r.json()
    assert note["total"] == "50.00" and note["amount_applied"] == "50.00" and note["invoice_id"] == invoice["id"]
    again = api_shop.api.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "50.00", "reason": "Damaged"},
                          headers={"Idempotency-Key": "cn-1"})
    assert again.content == r.content
    assert api_shop.api.get(f"/invoices/{invoice['id']}").json()["amount_due"] == "150.00"
    assert api_shop.api.get(f"/customers/{customer.pk}/balance").json()["balance"] == "150.00"
    assert [n["id"] for n in api_shop.api.get("/credit-notes", {"invoice_id": invoice["id"]}).json()["items"]] == [
        note["id"]]
    r = api_shop.api.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "500.00", "reason": "Too much"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "refused"


def test_a_standalone_credit_note_stays_unapplied(api_shop):
    with tenant_context(api_shop.org):
        customer = CustomerFactory(organization=api_shop.org)
    r = api_shop.api.post("/credit-notes", {"customer_id": customer.pk, "amount": "30.00", "reason": "Goodwill"})
    assert r.status_code == 201 and r.json()["unapplied"] == "30.00"
    assert api_shop.api.get(f"/customers/{customer.pk}/balance").json()["balance"] == "-30.00"


def test_refunding_an_unapplied_payment(api_shop):
    with tenant_context(api_shop.org):
        customer = CustomerFactory(organization=api_shop.org)
    payment = api_shop.api.post("/payments", payment_body(customer.pk, "80.00", allocation="none")).json()
    body = {"amount": "30.00", "refund_date": timezone.localdate().isoformat(), "method": "bank_transfer"}
    r = api_shop.api.post(f"/payments/{payment['id']}/refunds", body)
    assert r.status_code == 201, r.content
    assert api_shop.api.get(f"/payments/{payment['id']}").json()["unapplied"] == "50.00"
    assert api_shop.api.get(f"/customers/{customer.pk}/balance").json()["balance"] == "-50.00"
    r = api_shop.api.post(f"/payments/{payment['id']}/refunds", {**body, "amount": "60.00"})
    assert r.status_code == 422


def test_a_customers_statement_as_pdf(api_shop):
    customer, _invoice = _issued(api_shop)
    r = api_shop.api.get(f"/customers/{customer.pk}/statement", {"style": "open_item"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content[:5] == b"%PDF-"
    r = api_shop.api.get(f"/customers/{customer.pk}/statement", {"start": "2026-05-01", "end": "2026-04-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_period"
