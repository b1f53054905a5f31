"""Public links: opaque tokens, expiry, and a view count no link holder can inflate (issue 22, #4)."""

import base64
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from invoicing import public
from invoicing.models import InvoiceEvent
from invoicing.models_documents import PublicLink
from invoicing.services import void_invoice
from tests.documents_helpers import documents_world
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay

doc_world = pytest.fixture(documents_world)
LINES = (("Consulting", "1", "100.00", None),)


def page_ticket(client, url, **extra):
    return re.search(r'data-seen-ticket="([^"]+)"', client.get(url, **extra).content.decode()).group(1)


def test_the_token_shows_no_ids(doc_world):
    link = public.ensure_link(issued(doc_world.org, doc_world.customer, lines=LINES))
    token = public.make_token(link)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert link.nonce.encode() not in raw and link.nonce not in token
    assert f"{doc_world.org.pk}.{link.pk}" not in token and b"%d.%d" % (doc_world.org.pk, link.pk) not in raw
    assert public.parse_token(token) == (doc_world.org.pk, link.pk, link.nonce)


def test_twenty_posts_to_seen_do_not_inflate_the_count(doc_world, client):
    """The attack: 20 anonymous POSTs took the count from 1 to 21 and set 'viewed by the customer'."""
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    url = public.link_path(public.ensure_link(invoice))
    for _ in range(20):  # without the page's ticket: refused
        assert client.post(url + "seen").status_code == 403
        assert client.post(url + "seen", {"ticket": "forged:ticket:value"}).status_code == 403
    with doc_world.ctx():
        assert not InvoiceEvent.objects.filter(invoice=invoice, kind="viewed").exists()
    ticket = page_ticket(client, url)
    assert client.post(url + "seen", {"ticket": ticket}).status_code == 204
    for _ in range(20):  # the same ticket again: used
        assert client.post(url + "seen", {"ticket": ticket}).status_code == 403
    for _ in range(20):  # fresh page loads from the same client: counted once per interval
        assert client.post(url + "seen", {"ticket": page_ticket(client, url)}).status_code == 204
    with doc_world.ctx():
        assert PublicLink.objects.get(invoice=invoice).view_count == 1
        assert InvoiceEvent.objects.filter(invoice=invoice, kind="viewed").count() == 1
        # A ticket for another link does not count here.
        other = public.ensure_link(issued(doc_world.org, doc_world.customer, lines=LINES))
    other_ticket = page_ticket(client, public.link_path(other))
    assert client.post(url + "seen", {"ticket": other_ticket}).status_code == 403


def test_a_link_expires_after_the_invoice_is_settled(doc_world, client, settings):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    url = public.link_path(public.ensure_link(invoice))
    pay(doc_world.org, doc_world.customer, "100.00")
    invoice.refresh_from_db()
    assert invoice.amount_due == 0
    assert client.get(url).status_code == 200  # settled today: still 90 days to go
    settings.PUBLIC_LINK_DAYS_AFTER_SETTLED = 0
    for response in (client.get(url), client.get(url + "pdf"), client.post(url + "seen", {"ticket": "x"})):
        assert response.status_code == 404
    assert "This link has expired" in client.get(url).content.decode()
    settings.PUBLIC_LINK_DAYS_AFTER_SETTLED = 90
    with doc_world.ctx():
        link = PublicLink.objects.get(invoice=invoice)
        settled = InvoiceEvent.objects.filter(invoice=invoice, kind__in=public.SETTLING_EVENTS).latest("at").at
        assert public.expires_at(link) == settled + timedelta(days=90)


def test_a_voided_invoices_link_expires_and_an_open_one_only_with_a_maximum_age(doc_world, client, settings):
    settings.PUBLIC_LINK_DAYS_AFTER_SETTLED = 0
    open_invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    open_link = public.ensure_link(open_invoice)
    assert public.expires_at(open_link) is None
    assert client.get(public.link_path(open_link)).status_code == 200
    settings.PUBLIC_LINK_MAX_AGE_DAYS = 30
    with doc_world.ctx():
        PublicLink.objects.filter(pk=open_link.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert client.get(public.link_path(open_link)).status_code == 404
    settings.PUBLIC_LINK_MAX_AGE_DAYS = 0
    with doc_world.ctx():
        voided = issued(doc_world.org, doc_world.customer, lines=LINES)
        link = public.ensure_link(voided)
        void_invoice(voided, "issued in error")
    assert client.get(public.link_path(link)).status_code == 404
