"""The customer portal on the signed link (issue 19): the customer's account, disputes, promises,
balance confirmation; isolation between customers and organizations; double submits; switches;
rate limits; bad input."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from invoicing import public
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reminders.models import PromiseToPay, ReminderSettings
from reminders.models_collections import BalanceAssertion, Dispute, PortalAction
from tests.documents_helpers import World, make_billing_customer, pdf_pages_text
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

LINES = (("Consulting — March", "10", "100.00", "20"), ("Hosting", "1", "50.00", "20"))  # 1,200 + 60


@pytest.fixture
def two_orgs(db, settings):
    """Organization X with customers A and B, organization Y with customer C; each with invoices."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    x, y = World(), World()
    with tenant_context(x.org):
        b = make_billing_customer(x.org, name="Bravo Other Ltd")
        a1 = issued(x.org, x.customer, lines=LINES)
        a2 = issued(x.org, x.customer, lines=(("Licence", "1", "500.00", "0"),))
        b1 = issued(x.org, b, lines=(("Secret B work", "1", "777.00", "0"),))
        pay(x.org, x.customer, "100.00", allocation={a2.pk: Decimal("100.00")}, reference="PAY-A")
        link_a = public.ensure_link(a1)
        link_b = public.ensure_link(b1)
    with tenant_context(y.org):
        c1 = issued(y.org, y.customer, lines=(("Secret Y work", "1", "999.00", "0"),))
        link_c = public.ensure_link(c1)
    return {"x": x, "y": y, "a1": a1, "a2": a2, "b1": b1, "c1": c1, "b": b,
            "url_a": public.link_path(link_a) + "account/", "url_b": public.link_path(link_b) + "account/",
            "url_c": public.link_path(link_c) + "account/", "link_a": link_a}


def key():
    return uuid.uuid4().hex


def test_the_account_shows_every_open_invoice_payments_and_the_statement(two_orgs, client):
    w = two_orgs
    page = client.get(w["url_a"])
    assert page.status_code == 200
    text = page.content.decode()
    assert w["a1"].number in text and w["a2"].number in text
    assert "1,260.00 EUR" in text and "400.00 EUR" in text  # amounts due
    assert "PAY-A" in text or "Payment" in text
    assert "1,660.00 EUR" in text  # balance
    assert w["b1"].number not in text and "Secret B work" not in text and "Secret Y work" not in text
    assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
    pdf = client.get(w["url_a"] + "statement.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    statement = "\n".join(pdf_pages_text(pdf.content))
    assert w["a1"].number in statement and w["b1"].number not in statement
    with w["x"].ctx():
        action = PortalAction.objects.get(kind="statement")
        assert action.customer_id == w["x"].customer.pk and action.ip == "127.0.0.1"


def test_a_line_dispute_holds_only_that_part_and_is_recorded_with_time_and_address(two_orgs, client):
    w = two_orgs
    a1 = w["a1"]
    with w["x"].ctx():
        hosting = a1.lines.get(description="Hosting")
    response = client.post(w["url_a"] + "dispute/", {
        "invoice": a1.pk, "key": key(), "reason": "not_received", "lines": [hosting.pk],
        "message": "The hosting was down all month."}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and "done=dispute" in response.url
    with w["x"].ctx():
        d = Dispute.objects.get()
        assert (d.amount, d.line_ids, d.whole, d.source, d.ip) == (Decimal("60.000"), [hosting.pk], False,
                                                                  "portal", "198.51.100.7")
        assert d.messages.get().from_customer
        inv = Invoice.objects.get(pk=a1.pk)
        # Only 60 of 1,260 is held: the invoice is not on hold as a whole, the rest is still chased.
        assert inv.disputed_amount == Decimal("60.000") and not inv.is_disputed_on(inv.today)
        assert inv.disputed_part_on(inv.today) == Decimal("60.000")
        assert not Invoice.objects.disputed_on(inv.today).filter(pk=a1.pk).exists()
        action = PortalAction.objects.get(kind="dispute")
        assert action.ip == "198.51.100.7" and action.at is not None and "60" in action.summary
    # The whole of the other invoice: held entirely.
    assert client.post(w["url_a"] + "dispute/", {"invoice": w["a2"].pk, "key": key(), "reason": "duplicate",
                                                 "message": ""}).status_code == 302
    with w["x"].ctx():
        inv = Invoice.objects.get(pk=w["a2"].pk)
        assert inv.is_disputed_on(inv.today) and Invoice.objects.disputed_on(inv.today).filter(pk=inv.pk).exists()
    assert "In dispute" in client.get(w["url_a"]).content.decode()


def test_a_new_dispute_does_not_overwrite_the_old_one(two_orgs, client):
    w = two_orgs
    for reason, amount in (("wrong_amount", "100"), ("quality", "200.50")):
        assert client.post(w["url_a"] + "dispute/", {"invoice": w["a1"].pk, "key": key(), "reason": reason,
                                                     "amount": amount}).status_code == 302
    with w["x"].ctx():
        assert sorted(Dispute.objects.values_list("reason", "amount")) == [
            ("quality", Decimal("200.500")), ("wrong_amount", Decimal("100.000"))]
        assert Invoice.objects.get(pk=w["a1"].pk).disputed_amount == Decimal("300.500")


def test_a_promise_with_date_and_amount(two_orgs, client):
    w = two_orgs
    a1 = w["a1"]
    until = a1.today + timedelta(days=5)
    response = client.post(w["url_a"] + "promise/", {"invoice": a1.pk, "key": key(), "until": until.isoformat(),
                                                     "amount": "1,000.00", "note": "Friday"})
    assert response.status_code == 302 and "done=promise" in response.url
    with w["x"].ctx():
        p = PromiseToPay.objects.get()
        assert (p.until, p.amount, p.source, p.promised_by) == (until, Decimal("1000.000"), "portal",
                                                                w["x"].customer.name)
        assert PortalAction.objects.get(kind="promise").ip == "127.0.0.1"


@pytest.mark.parametrize("data, message", [
    ({"until": "past", "amount": "10"}, "today or later"),
    ({"until": "soon", "amount": "5000"}, "more than the"),
    ({"until": "soon", "amount": "-3"}, "more than zero"),
    ({"until": "soon", "amount": "12abc"}, "Type numbers as 1,234.56"),
])
def test_a_bad_promise_is_refused_with_a_message_and_nothing_stored(two_orgs, client, data, message):
    w = two_orgs
    a1 = w["a1"]
    day = a1.today - timedelta(days=1) if data["until"] == "past" else a1.today + timedelta(days=3)
    response = client.post(w["url_a"] + "promise/", {"invoice": a1.pk, "key": key(), "until": day.isoformat(),
                                                     "amount": data["amount"]})
    assert response.status_code == 400 and message in response.content.decode()
    with w["x"].ctx():
        assert not PromiseToPay.objects.exists() and not PortalAction.objects.exists()


@pytest.mark.parametrize("message, expected", [
    ("<script>alert(1)</script>", "plain text"),
    ("x" * 2001, "at most 2000"),
])
def test_markup_or_huge_messages_are_refused(two_orgs, client, message, expected):
    w = two_orgs
    response = client.post(w["url_a"] + "dispute/", {"invoice": w["a1"].pk, "key": key(), "reason": "other",
                                                     "message": message})
    assert response.status_code == 400 and expected in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    with w["x"].ctx():
        assert not Dispute.objects.exists() and not PortalAction.objects.exists()
        assert Invoice.objects.get(pk=w["a1"].pk).disputed_at is None


def test_a_double_submit_does_it_once(two_orgs, client):
    w = two_orgs
    form = {"invoice": w["a1"].pk, "key": key(), "reason": "other", "amount": "10"}
    assert "done=dispute" in client.post(w["url_a"] + "dispute/", form).url
    assert "done=again" in client.post(w["url_a"] + "dispute/", form).url
    promise = {"invoice": w["a1"].pk, "key": key(), "until": (w["a1"].today + timedelta(days=2)).isoformat(),
               "amount": "50"}
    client.post(w["url_a"] + "promise/", promise)
    client.post(w["url_a"] + "promise/", promise)
    with w["x"].ctx():
        assert Dispute.objects.count() == 1 and PromiseToPay.objects.count() == 1
        assert PortalAction.objects.count() == 2


def test_ids_of_another_customer_or_organization_find_nothing(two_orgs, client):
    """Customer A's token with B's (same org) or C's (other org) invoice id in every request."""
    w = two_orgs
    until = (w["a1"].today + timedelta(days=3)).isoformat()
    for foreign in (w["b1"], w["c1"]):
        for path, data in (("dispute/", {"reason": "other"}), ("promise/", {"until": until, "amount": "1"})):
            response = client.post(w["url_a"] + path, {"invoice": foreign.pk, "key": key(), **data})
            assert response.status_code == 404
    # A's line ids on A's invoice are fine; B's line on A's invoice is refused.
    with w["x"].ctx():
        b_line = w["b1"].lines.get().pk
    response = client.post(w["url_a"] + "dispute/", {"invoice": w["a1"].pk, "key": key(), "reason": "other",
                                                     "lines": [b_line]})
    assert response.status_code == 400
    for ctx in (w["x"].ctx(), w["y"].ctx()):
        with ctx:
            assert not Dispute.objects.exists() and not PromiseToPay.objects.exists()
    # B's and C's own links show their own account, and nothing of A.
    b_page = client.get(w["url_b"]).content.decode()
    c_page = client.get(w["url_c"]).content.decode()
    assert "Secret B work" in b_page and "Consulting — March" not in b_page and "Secret Y" not in b_page
    assert "Secret Y work" in c_page and "Consulting — March" not in c_page and "Secret B" not in c_page
    assert "Licence" not in b_page + c_page


def test_a_tampered_revoked_or_expired_link_shows_nothing(two_orgs, client, settings):
    w = two_orgs
    url = w["url_a"]
    token = url.split("/")[2]
    tampered = url.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert client.get(tampered).status_code == 404
    settings.PUBLIC_LINK_MAX_AGE_DAYS = 1
    with w["x"].ctx():
        from invoicing.models_documents import PublicLink
        PublicLink.objects.filter(pk=w["link_a"].pk).update(created_at=w["link_a"].created_at - timedelta(days=2))
    assert client.get(url).status_code == 404
    assert "This link has expired" in client.get(url).content.decode()
    assert client.post(url + "dispute/", {"invoice": w["a1"].pk, "key": key(), "reason": "other"}).status_code == 404
    settings.PUBLIC_LINK_MAX_AGE_DAYS = 0
    with w["x"].ctx():
        public.revoke_link(w["link_a"])
    assert client.get(url).status_code == 404
    assert client.post(url + "dispute/", {"invoice": w["a1"].pk, "key": key(), "reason": "other"}).status_code == 404
    assert client.get(url + "statement.pdf").status_code == 404


def test_each_action_can_be_switched_off(two_orgs, client):
    w = two_orgs
    with w["x"].ctx():
        ReminderSettings.objects.filter(organization=w["x"].org).update(
            portal_disputes=False, portal_promises=False, portal_balance=False, portal_statement=False)
    page = client.get(w["url_a"]).content.decode()
    assert "Send dispute" not in page and "Send promise" not in page and "I confirm" not in page
    assert "statement.pdf" not in page
    until = (w["a1"].today + timedelta(days=3)).isoformat()
    assert client.post(w["url_a"] + "dispute/", {"invoice": w["a1"].pk, "key": key(),
                                                 "reason": "other"}).status_code == 404
    assert client.post(w["url_a"] + "promise/", {"invoice": w["a1"].pk, "key": key(), "until": until,
                                                 "amount": "5"}).status_code == 404
    assert client.get(w["url_a"] + "statement.pdf").status_code == 404
    with w["x"].ctx():
        assert not Dispute.objects.exists() and not PromiseToPay.objects.exists()


def test_the_rate_limit_stops_one_address_on_one_link_only(two_orgs, client, settings):
    settings.PORTAL_ACTIONS_PER_HOUR = 2
    w = two_orgs
    post = {"invoice": w["a1"].pk, "reason": "other", "amount": "1"}
    for _ in range(2):
        assert client.post(w["url_a"] + "dispute/", {**post, "key": key()}).status_code == 302
    refused = client.post(w["url_a"] + "dispute/", {**post, "key": key()})
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    # Another address on the same link, and the same address on another customer's link, go on.
    assert client.post(w["url_a"] + "dispute/", {**post, "key": key()}, REMOTE_ADDR="203.0.113.9").status_code == 302
    assert client.post(w["url_b"] + "dispute/", {"invoice": w["b1"].pk, "reason": "other", "amount": "1",
                                                 "key": key()}).status_code == 302
    with w["x"].ctx():
        assert Dispute.objects.count() == 4


def test_balance_confirmation_is_kept_and_rechecked_by_the_ledger(two_orgs, client):
    from reminders import portal

    w = two_orgs
    page = client.get(w["url_a"]).content.decode()
    shown = re.search(r'name="balance" value="([^"]+)"', page).group(1)
    as_of = re.search(r'name="as_of" value="([^"]+)"', page).group(1)
    form = {"key": key(), "as_of": as_of, "balance": shown, "answer": "confirm", "note": ""}
    assert "done=confirm" in client.post(w["url_a"] + "balance/", form).url
    assert "done=again" in client.post(w["url_a"] + "balance/", form).url
    with w["x"].ctx():
        assertion = BalanceAssertion.objects.get()
        assert assertion.confirmed and assertion.balance == Decimal("1660.000") and portal.recheck(assertion)
    # A stale page (the balance changed since) cannot confirm what is no longer true.
    stale = {**form, "key": key(), "balance": "999.00"}
    response = client.post(w["url_a"] + "balance/", stale)
    assert response.status_code == 400 and "changed" in response.content.decode()
    # A payment back-dated to the asserted day: the ledger's re-check says it no longer holds.
    with w["x"].ctx():
        pay(w["x"].org, w["x"].customer, "10.00", received_date=assertion.as_of)
        assert not portal.recheck(BalanceAssertion.objects.get())
    # The customer's page in the organization shows it on the customer's timeline.
    client.force_login(w["x"].finance)
    page = client.get(w["x"].url("customer_detail", pk=w["x"].customer.pk)).content.decode()
    assert "Confirmed the balance" in page


def test_the_switches_are_on_the_reminder_settings_page(two_orgs, client):
    w = two_orgs
    client.force_login(w["x"].owner)
    response = client.post(w["x"].url("reminder_settings"), {"timezone": "Europe/Berlin", "send_hour": "8",
                                                             "portal_disputes": "on"})
    assert response.status_code == 302
    with w["x"].ctx():
        s = ReminderSettings.objects.get(organization=w["x"].org)
        assert (s.portal_disputes, s.portal_promises, s.portal_balance, s.portal_statement) == (
            True, False, False, False)
