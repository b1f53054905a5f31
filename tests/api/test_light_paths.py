"""The API's write paths read only what they use (issue 15): the draft is checked by the editor's
forms without what only a page needs, and a request reads neither its key's creator nor its
organization again."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing import issuing
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments import api as payments_api
from reminders.models_webhooks import WebhookDelivery, WebhookEndpoint
from tests.api.helpers import draft_body, payment_body
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft


def _sql(queries) -> str:
    return "\n".join(q["sql"] for q in queries.captured_queries)


def test_a_draft_without_tax_rates_or_default_texts_reads_only_its_customer(api_shop):
    with tenant_context(api_shop.org, api_shop.owner):
        customer = CustomerFactory(organization=api_shop.org)
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post("/invoices", draft_body(customer.pk, notes="", terms=""))
    assert r.status_code == 201, r.content
    sql = _sql(queries)
    assert "COUNT(" not in sql  # no count of customers to choose a page's widget
    for table in ("invoicing_taxrate", "invoicing_invoicesettings", "accounts_user", "accounts_organization"):
        assert f'FROM "{table}"' not in sql, table
    assert sql.count('FROM "accounts_customer"') == 1
    assert sql.count('UPDATE "invoicing_invoice"') == 0  # the totals are in the insert
    with tenant_context(api_shop.org, api_shop.owner):
        invoice = Invoice.objects.get(pk=r.json()["id"])
        assert (invoice.total, invoice.amount_due, invoice.lines.count()) == (200, 200, 1)


def test_the_tax_rates_and_default_texts_are_read_when_the_draft_uses_them(api_shop):
    with tenant_context(api_shop.org, api_shop.owner):
        customer = CustomerFactory(organization=api_shop.org)
        rate = draft(api_shop.org, customer).lines.get().tax_rate  # a 20 % rate of the organization
    lines = [{"description": "Taxed", "quantity": "1", "unit_price": "100.00", "tax_rate_id": rate.pk}]
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post("/invoices", draft_body(customer.pk, lines))
    assert r.status_code == 201, r.content
    sql = _sql(queries)
    assert 'FROM "invoicing_taxrate"' in sql and 'FROM "invoicing_invoicesettings"' in sql
    assert (r.json()["tax_total"], r.json()["total"]) == ("20.00", "120.00")


def test_issuing_reads_neither_the_actor_nor_the_organization_again(api_shop):
    with tenant_context(api_shop.org, api_shop.owner):
        invoice = draft(api_shop.org, CustomerFactory(organization=api_shop.org))
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post(f"/invoices/{invoice.pk}/issue")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "issued" and r.json()["display_status"] == "open"
    sql = _sql(queries)
    assert 'FROM "accounts_user"' not in sql and 'FROM "accounts_organization"' not in sql


def _savepoints(sql: str) -> int:
    return sql.count('SAVEPOINT "') - sql.count('RELEASE SAVEPOINT "') - sql.count('ROLLBACK TO SAVEPOINT "')


def test_issuing_reads_the_invoice_once_and_opens_no_transaction_around_the_services(api_shop):
    """The issue operation does not read the invoice before the service locks it (in a pipeline of
    its own, not seen here), nor after the commit (the answer is the stored invoice), and its one
    transaction is the service's. Inside the test's
    transaction every block shows as a savepoint: the service's (was three, with the operation's
    around the service and the key's round trip, which now runs in no transaction of its own)."""
    with tenant_context(api_shop.org, api_shop.owner):
        invoice = draft(api_shop.org, CustomerFactory(organization=api_shop.org))
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post(f"/invoices/{invoice.pk}/issue")
    assert r.status_code == 200, r.content
    sql = _sql(queries)
    assert sql.count('FROM "invoicing_invoice"') == 0
    assert _savepoints(sql) == 1


def _paid_invoice_and_payment(api_shop, customer):
    with tenant_context(api_shop.org, api_shop.owner):
        invoice = draft(api_shop.org, customer)
    total = api_shop.api.post(f"/invoices/{invoice.pk}/issue").json()["total"]
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post("/payments", payment_body(customer.pk, total))
    assert r.status_code == 201, r.content
    assert r.json()["allocations"][0] == {**r.json()["allocations"][0], "invoice_id": invoice.pk, "amount": total}
    return _sql(queries)


def _endpoint(org, owner):
    with tenant_context(org, owner):
        return WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/in", secret="s",
                                              events=["payment.recorded", "invoice.paid"])


def _events(org, owner) -> set[str]:
    with tenant_context(org, owner):
        return set(WebhookDelivery.objects.filter(organization=org).values_list("event_type", flat=True))


def test_a_payment_is_one_transaction_and_reads_the_webhook_endpoints_once(api_shop):
    _endpoint(api_shop.org, api_shop.owner)
    sql = _paid_invoice_and_payment(api_shop, _customer(api_shop))
    # record_payment's only (was four: also the key's, the operation's and apply_many's).
    assert _savepoints(sql) == 1
    # invoice.paid and payment.recorded: one read of the endpoints for both (was one each).
    assert sql.count('FROM "reminders_webhookendpoint"') == 1
    assert _events(api_shop.org, api_shop.owner) == {"payment.recorded", "invoice.paid"}


def test_an_organization_without_webhook_endpoints_pays_without_reading_them(api_shop):
    """The key's round trip says there is none; the answer lasts one request: an endpoint saved
    before the next request gets that request's events."""
    customer = _customer(api_shop)
    sql = _paid_invoice_and_payment(api_shop, customer)
    assert 'FROM "reminders_webhookendpoint"' not in sql
    assert _events(api_shop.org, api_shop.owner) == set()
    _endpoint(api_shop.org, api_shop.owner)
    sql = _paid_invoice_and_payment(api_shop, customer)
    assert sql.count('FROM "reminders_webhookendpoint"') == 1
    assert _events(api_shop.org, api_shop.owner) == {"payment.recorded", "invoice.paid"}


def _customer(api_shop):
    with tenant_context(api_shop.org, api_shop.owner):
        return CustomerFactory(organization=api_shop.org)


def test_issuing_another_organizations_draft_is_404_and_changes_nothing(api_shop):
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        theirs = draft(other, CustomerFactory(organization=other))
        # The draft's lock and read name the organization (row-level security aside).
        assert issuing.load_draft(theirs.pk, api_shop.org.pk) is None
        assert issuing.load_draft(theirs.pk, other.pk) is not None
    r = api_shop.api.post(f"/invoices/{theirs.pk}/issue")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "not_found"
    with tenant_context(other, other_owner):
        assert Invoice.objects.get(pk=theirs.pk).status == "draft"


@pytest.mark.parametrize("allocation", ["auto", "none", "manual"])
def test_a_payment_is_answered_from_what_was_written_as_a_read_would_answer(api_shop, allocation):
    """POST /payments builds its answer from the rows it wrote (no read after the commit): the same
    body the read after the commit gave."""
    customer = _customer(api_shop)
    with tenant_context(api_shop.org, api_shop.owner):
        invoices = [draft(api_shop.org, customer) for _ in range(2)]
    totals = [api_shop.api.post(f"/invoices/{i.pk}/issue").json()["total"] for i in invoices]
    chosen = {"auto": "auto", "none": "none",
              "manual": [{"invoice_id": invoices[1].pk, "amount": "50.00"},
                         {"invoice_id": invoices[0].pk, "amount": "25.5"}]}[allocation]
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post("/payments", payment_body(customer.pk, totals[0], allocation=chosen,
                                                        reference="R-1"))
    assert r.status_code == 201, r.content
    assert 'FROM "payments_allocation"' not in _sql(queries)
    with tenant_context(api_shop.org, api_shop.owner):
        read_back = json.loads(payments_api._fresh(r.json()["id"]).model_dump_json())  # the answer before
    assert r.json() == read_back
    assert len(r.json()["allocations"]) == {"auto": 1, "none": 0, "manual": 2}[allocation]


@pytest.mark.parametrize("taxed", [False, True])
def test_a_new_draft_is_answered_from_what_was_written_as_a_read_would_answer(api_shop, taxed):
    """POST /invoices answers from the rows it inserted (no read after the commit): the same body the
    read after the commit gave, totals, line amounts, times and defaults included."""
    from invoicing import api as invoicing_api

    customer = _customer(api_shop)
    with tenant_context(api_shop.org, api_shop.owner):
        rate = draft(api_shop.org, customer).lines.get().tax_rate.pk if taxed else None
    lines = [{"description": "Work", "quantity": "2.5", "unit_price": "80.10", "discount_percent": "12.5",
              "tax_rate_id": rate},
             {"description": "Parts", "quantity": "3", "unit": "pcs", "unit_price": "19.99", "tax_rate_id": rate}]
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post("/invoices", draft_body(customer.pk, lines, discount_percent="5", reference="PO-7"))
    assert r.status_code == 201, r.content
    assert 'FROM "invoicing_invoiceline"' not in _sql(queries)
    with tenant_context(api_shop.org, api_shop.owner):
        read_back = json.loads(invoicing_api._fresh(r.json()["id"]).model_dump_json())  # the answer before
    assert r.json() == read_back
    assert len(r.json()["lines"]) == 2 and r.json()["total"] != "0.00"


@pytest.mark.parametrize("issue_date", [None, "2026-01-15"])
def test_an_issued_invoice_is_answered_as_stored_as_a_read_would_answer(api_shop, issue_date):
    """POST /invoices/{id}/issue answers from the invoice issue_invoice stored (no read after the
    commit): the same body the read after the commit gave, number, amounts, issued_at and the
    trigger-set updated_at included."""
    from invoicing import api as invoicing_api

    customer = _customer(api_shop)
    with tenant_context(api_shop.org, api_shop.owner):
        rate = draft(api_shop.org, customer).lines.get().tax_rate.pk
    lines = [{"description": "Work", "quantity": "2.5", "unit_price": "80.10", "discount_percent": "12.5",
              "tax_rate_id": rate},
             {"description": "Parts", "quantity": "3", "unit": "pcs", "unit_price": "19.99"}]
    created = api_shop.api.post("/invoices", draft_body(customer.pk, lines, discount_percent="5")).json()
    with CaptureQueriesContext(connection) as queries:
        r = api_shop.api.post(f"/invoices/{created['id']}/issue", {"issue_date": issue_date} if issue_date else None)
    assert r.status_code == 200, r.content
    assert 'FROM "invoicing_invoiceline"' not in _sql(queries)
    with tenant_context(api_shop.org, api_shop.owner):
        read_back = json.loads(invoicing_api._fresh(created["id"]).model_dump_json())  # the answer before
    assert r.json() == read_back
    assert r.json()["status"] == "issued" and r.json()["number"] and r.json()["updated_at"] != created["updated_at"]
