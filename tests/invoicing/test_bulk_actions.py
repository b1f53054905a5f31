"""Bulk actions on the invoice list (issue 21 point 3, invoicing.bulk): tick, choose, confirm
once, one result per row. Issuing is all or nothing; e-mailing never sends twice; only finance
staff act, and only on their own organization's invoices."""

import csv
import io

import pytest
from django.utils import timezone

from accounts.models import JournalEntry
from invoicing import bulk
from invoicing.models import Invoice, InvoiceStatus
from invoicing.models_documents import EmailDelivery
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db


def post(acme, data, user=None):
    return acme.client(user or acme.finance).post(acme.url("invoice_bulk"), data)


def statuses(acme, invoices):
    with acme.ctx():
        return [Invoice.objects.get(pk=i.pk).status for i in invoices]


def result_notes(response):
    return {row.invoice.pk if row.invoice else row.pk: (row.ok, row.note) for row in response.context["rows"]}


@pytest.fixture
def drafts(acme):
    with acme.ctx():
        return [draft(acme.org, acme.customer, [(f"Work {n}", "1", "100.00", None)]) for n in range(3)]


def test_the_first_post_only_shows_what_will_happen_and_changes_nothing(acme, drafts):
    with acme.ctx():
        done = issued(acme.org, acme.customer)
    response = post(acme, {"action": "issue", "ids": [d.pk for d in drafts] + [done.pk]})
    assert response.status_code == 200
    assert response.templates[0].name == "invoicing/bulk_confirm.html"
    notes = result_notes(response)
    assert [notes[d.pk][0] for d in drafts] == [True, True, True]
    assert notes[done.pk] == (False, "Not a draft (Issued).")
    assert response.context["ids"] == [d.pk for d in drafts]  # the confirmation carries only the drafts
    assert "Issue 3 drafts" in response.content.decode()
    assert statuses(acme, drafts) == ["draft"] * 3


def test_confirmed_issue_issues_every_ticked_draft(acme, drafts):
    response = post(acme, {"action": "issue", "confirm": "1", "ids": [d.pk for d in drafts]})
    assert response.status_code == 200
    assert statuses(acme, drafts) == ["issued"] * 3
    with acme.ctx():
        numbers = [Invoice.objects.get(pk=d.pk).number for d in drafts]
    assert all(numbers) and len(set(numbers)) == 3
    assert [n for ok, n in result_notes(response).values()] == [f"Issued as {n}." for n in numbers]


def test_issuing_is_all_or_nothing_when_one_draft_is_refused(acme, drafts):
    with acme.ctx():
        gone = CustomerFactory(organization=acme.org, name="Gone Ltd", code="GONE")
        refused = draft(acme.org, gone, [("Old work", "1", "50.00", None)])
        gone.archived_at = timezone.now()
        gone.save(update_fields=["archived_at"])
        entries_before = JournalEntry.objects.count()
    ids = [drafts[0].pk, refused.pk, drafts[1].pk]
    response = post(acme, {"action": "issue", "confirm": "1", "ids": ids})
    assert response.status_code == 200
    assert statuses(acme, [drafts[0], refused, drafts[1]]) == ["draft"] * 3
    with acme.ctx():
        assert not Invoice.objects.filter(pk__in=ids).exclude(number="").exclude(number__isnull=True).exists()
        assert JournalEntry.objects.count() == entries_before
    notes = result_notes(response)
    assert notes[refused.pk] == (False, "The customer is archived; restore it before invoicing.")
    assert notes[drafts[0].pk] == (False, "Not issued: nothing was issued because another invoice was refused.")
    assert "0 done" in response.content.decode()


def test_bulk_email_queues_each_once_and_skips_what_cannot_be_sent(acme, django_capture_on_commit_callbacks):
    with acme.ctx():
        acme.customer.billing_emails = "ap@bluebird.example"
        acme.customer.save(update_fields=["billing_emails"])
        silent = CustomerFactory(organization=acme.org, name="Quiet Co", code="QUIET", billing_emails="")
        one, two = issued(acme.org, acme.customer), issued(acme.org, acme.customer)
        mute = issued(acme.org, silent)
        still_draft = draft(acme.org, acme.customer)
    ids = [one.pk, two.pk, mute.pk, still_draft.pk]
    data = {"action": "email", "confirm": "1", "ids": ids}
    with django_capture_on_commit_callbacks():
        response = post(acme, data)
    notes = result_notes(response)
    assert notes[one.pk] == (True, "E-mail queued to ap@bluebird.example.")
    assert notes[mute.pk] == (False, "Quiet Co has no billing e-mail.")
    assert notes[still_draft.pk] == (False, "Only an issued invoice can be e-mailed.")
    with acme.ctx():
        assert sorted(EmailDelivery.objects.values_list("invoice_id", flat=True)) == sorted([one.pk, two.pk])
        assert EmailDelivery.objects.get(invoice=one).recipients == ["ap@bluebird.example"]
    # The same confirmation submitted again (a double click, the back button) sends nothing twice.
    with django_capture_on_commit_callbacks():
        again = post(acme, data)
    assert result_notes(again)[one.pk] == (False, "Already e-mailed; to send it again, use Send on the invoice.")
    with acme.ctx():
        assert EmailDelivery.objects.count() == 2


def test_bulk_delete_removes_drafts_only(acme, drafts):
    with acme.ctx():
        done = issued(acme.org, acme.customer)
    response = post(acme, {"action": "delete", "confirm": "1", "ids": [drafts[0].pk, done.pk]})
    assert response.status_code == 200
    with acme.ctx():
        assert not Invoice.objects.filter(pk=drafts[0].pk).exists()
        assert Invoice.objects.get(pk=done.pk).status == InvoiceStatus.ISSUED
        assert Invoice.objects.filter(pk__in=[d.pk for d in drafts[1:]]).count() == 2


def test_export_selected_streams_only_the_ticked_invoices(acme):
    with acme.ctx():
        a, b, c = (issued(acme.org, acme.customer, [("Item", "1", amount, None)]) for amount in ("10", "20", "30"))
    response = post(acme, {"export": "1", "action": "issue", "ids": [a.pk, c.pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert sorted(r["number"] for r in rows) == sorted([a.number, c.number])
    assert sorted(r["total"] for r in rows) == ["10.00", "30.00"]


def test_viewers_cannot_act_and_do_not_see_the_checkboxes(acme, drafts):
    response = post(acme, {"action": "issue", "confirm": "1", "ids": [d.pk for d in drafts]}, user=acme.viewer)
    assert response.status_code == 403
    assert statuses(acme, drafts) == ["draft"] * 3
    page = acme.client(acme.viewer).get(acme.url("invoice_list")).content.decode()
    assert 'name="ids"' not in page and "bulk-form" not in page
    finance_page = acme.client(acme.finance).get(acme.url("invoice_list")).content.decode()
    assert finance_page.count('name="ids"') == 3


def test_another_organizations_invoices_are_not_found_and_not_touched(acme, drafts):
    other, other_owner = make_org(name="Other Org", slug="other-org")
    with tenant_context(other, other_owner):
        theirs = draft(other, CustomerFactory(organization=other, name="Theirs", code="T1"))
    response = post(acme, {"action": "issue", "confirm": "1", "ids": [theirs.pk, drafts[0].pk]})
    notes = result_notes(response)
    assert notes[theirs.pk] == (False, "Not found in this organization.")
    assert notes[drafts[0].pk][0] is True
    with tenant_context(other, other_owner):
        assert Invoice.objects.get(pk=theirs.pk).status == InvoiceStatus.DRAFT


@pytest.mark.parametrize("data, message", [
    ({"action": "issue"}, "Tick at least one invoice first."),
    ({"action": "issue", "ids": ["1x"]}, "The selection is not valid; tick the invoices again."),
    ({"action": "issue", "ids": [str(n) for n in range(1, 102)]}, "Select at most 100 invoices at a time."),
    ({"action": "launch", "ids": ["1"]}, "Choose an action."),
])
def test_bad_input_gets_a_clear_message_and_changes_nothing(acme, drafts, data, message):
    client = acme.client(acme.finance)
    response = client.post(acme.url("invoice_bulk"), {**data, "back": "status=draft&sort=-total"})
    assert response.status_code == 302
    assert response["Location"].endswith("/invoices/?status=draft&sort=-total")
    assert message in client.get(response["Location"]).content.decode()
    assert statuses(acme, drafts) == ["draft"] * 3


def test_a_get_goes_back_to_the_list(acme):
    response = acme.client(acme.finance).get(acme.url("invoice_bulk"))
    assert response.status_code == 302 and response["Location"].endswith("/invoices/")


@pytest.mark.django_db(transaction=True)
def test_two_clerks_e_mailing_the_same_selection_at_once_queue_each_invoice_once():
    """The invoice rows are locked while "already e-mailed?" is decided: without the lock every
    thread sees no e-mail yet and each queues one."""
    org, owner = make_org(name="Race Co", slug="race-co")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Race Customer", code="RACE",
                                   billing_emails="ap@race.example")
        ids = [issued(org, customer).pk for _ in range(3)]

    def work(_i):
        return [row.ok for row in bulk.run(org, "email", ids, actor=owner)]

    results = run_at_once(4, work, org=org, actor=owner)
    assert sorted(sum(r) for r in results) == [0, 0, 0, 3]
    with tenant_context(org):
        assert sorted(EmailDelivery.objects.values_list("invoice_id", flat=True)) == sorted(ids)
