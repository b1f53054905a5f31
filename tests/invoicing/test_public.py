"""The customer's public link: opens one invoice without login; tampered, revoked or
foreign tokens get 404; the first view is recorded once."""

import hashlib
import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing import public
from invoicing.models import InvoiceEvent
from invoicing.models_documents import PublicLink, StoredDocument
from invoicing.services import InvoiceError, void_invoice
from ledger_site.tenancy import tenant_context
from tests.documents_helpers import documents_world, make_billing_customer, make_billing_org, pdf_pages_text
from tests.invoicing_helpers import draft, issued

doc_world = pytest.fixture(documents_world)

LINES = (("Consulting — March", "12.5", "95.00", "20"), ("Hosting", "1", "49.00", "20"))


def token_for(org_id, link_id, nonce):
    """A genuinely sealed token for any values (what only someone holding SECRET_KEY could make)."""
    return public.make_token(SimpleNamespace(organization_id=org_id, pk=link_id, nonce=nonce))


def seen(client, url, **extra):
    """What the page's script does: post the page view's ticket."""
    ticket = re.search(r'data-seen-ticket="([^"]+)"', client.get(url, **extra).content.decode()).group(1)
    return client.post(url + "seen", {"ticket": ticket}, **extra)


def link_for(doc_world, invoice):
    with doc_world.ctx():
        return public.ensure_link(invoice)


def test_the_link_shows_the_invoice_and_its_pdf_without_login(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    link = link_for(doc_world, invoice)
    url = public.link_path(link)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert invoice.number in page and "Consulting — March" in page and "Hosting" in page
    assert "1,483.80 EUR" in page  # amount due: (1,187.50 + 49.00) × 1.2
    assert 'data-status="open"' in page and "Northwind Tools Ltd" in page
    assert response["X-Robots-Tag"] == "noindex, nofollow" and response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]

    pdf = client.get(url + "pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    with doc_world.ctx():
        stored = StoredDocument.objects.get(invoice=invoice)
    assert hashlib.sha256(pdf.content).hexdigest() == stored.sha256
    assert invoice.number in pdf_pages_text(pdf.content)[0]


def test_the_first_view_is_recorded_as_viewed_once(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    link = link_for(doc_world, invoice)
    url = public.link_path(link)
    # A mail scanner fetches the link: no script runs, nothing is recorded.
    for _ in range(3):
        assert client.get(url).status_code == 200
    with doc_world.ctx():
        link.refresh_from_db()
        assert link.view_count == 0 and not InvoiceEvent.objects.filter(invoice=invoice, kind="viewed").exists()
    # The page's script once the customer has it on screen, twice; then a PDF download: one client
    # within the interval counts once. Another client (another address) counts again.
    assert seen(client, url).status_code == 204
    assert seen(client, url).status_code == 204
    assert client.get(url + "pdf").status_code == 200
    assert seen(client, url, REMOTE_ADDR="192.0.2.8").status_code == 204
    with doc_world.ctx():
        events = list(InvoiceEvent.objects.filter(invoice=invoice, kind="viewed"))
        link.refresh_from_db()
    assert len(events) == 1 and events[0].actor is None
    assert link.view_count == 2 and link.first_viewed_at is not None and link.last_viewed_at >= link.first_viewed_at


def test_the_page_asks_its_script_to_report_the_view(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    url = public.link_path(link_for(doc_world, invoice))
    page = client.get(url).content.decode()
    assert f'data-seen-url="{url}seen"' in page and "js/public_seen.js" in page
    assert client.get(url + "seen").status_code == 405  # a GET (a scanner following links) changes nothing


def test_a_member_previewing_the_link_is_not_the_customer_viewing_it(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    url = public.link_path(link_for(doc_world, invoice))
    client.force_login(doc_world.viewer)
    assert client.get(url).status_code == 200
    assert seen(client, url).status_code == 204
    assert client.get(url + "pdf").status_code == 200
    with doc_world.ctx():
        assert not InvoiceEvent.objects.filter(invoice=invoice, kind="viewed").exists()


def test_a_tampered_token_is_404_before_any_query(doc_world, client, django_assert_num_queries):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    link = link_for(doc_world, invoice)
    token = public.make_token(link)
    # The token is opaque: neither id nor the nonce appears in it.
    assert link.nonce not in token and f"{doc_world.org.pk}.{link.pk}" not in token
    flips = [token[:n] + ("A" if token[n] != "A" else "B") + token[n + 1:] for n in (0, 10, 20, len(token) - 2)]
    old_style = f"{doc_world.org.pk}.{link.pk}.{link.nonce}"
    for bad in [*flips, token[:-4], old_style, "nonsense", token + "xy"]:
        assert client.get(f"/p/{bad}/").status_code == 404, bad
        assert client.get(f"/p/{bad}/pdf").status_code == 404, bad
        assert client.post(f"/p/{bad}/seen").status_code == 404, bad
    with django_assert_num_queries(0):
        assert all(public.parse_token(bad) is None for bad in flips)
    with doc_world.ctx():
        assert not InvoiceEvent.objects.filter(invoice=invoice, kind="viewed").exists()


def test_a_revoked_link_is_404_and_a_new_link_is_a_new_url(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    old_url = public.link_path(link_for(doc_world, invoice))
    assert client.get(old_url).status_code == 200
    client.force_login(doc_world.finance)
    revoke = doc_world.url("invoice_link_revoke", pk=invoice.pk)
    assert client.get(revoke).status_code == 200  # the confirmation step changes nothing
    client.logout()
    assert client.get(old_url).status_code == 200
    client.force_login(doc_world.finance)
    assert client.post(revoke).status_code == 302
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(old_url + "pdf").status_code == 404
    assert client.post(old_url + "seen").status_code == 404
    client.force_login(doc_world.finance)
    assert client.post(doc_world.url("invoice_link_create", pk=invoice.pk)).status_code == 302
    with doc_world.ctx():
        new = PublicLink.objects.get(invoice=invoice, revoked_at__isnull=True)
        assert InvoiceEvent.objects.filter(invoice=invoice, kind="link_revoked").count() == 1
    client.logout()
    assert public.link_path(new) != old_url
    assert client.get(public.link_path(new)).status_code == 200
    assert client.get(old_url).status_code == 404


def test_another_organizations_token_is_404(doc_world, client):
    mine = issued(doc_world.org, doc_world.customer, lines=LINES)
    my_link = link_for(doc_world, mine)
    other, _ = make_billing_org(name="Other Ltd")
    with tenant_context(other):
        theirs_invoice = issued(other, make_billing_customer(other), lines=LINES)
        theirs = public.ensure_link(theirs_invoice)
    # A genuinely signed token that names my organization with their link's id and nonce:
    forged = token_for(doc_world.org.pk, theirs.pk, theirs.nonce)
    assert client.get(f"/p/{forged}/").status_code == 404
    assert client.get(f"/p/{forged}/pdf").status_code == 404
    # ... and theirs with my link's id: also 404
    forged = token_for(other.pk, my_link.pk, my_link.nonce)
    assert client.get(f"/p/{forged}/").status_code == 404
    # their real token works: it is the organization that decides, not the id
    assert client.get(public.link_path(theirs)).status_code == 200


def test_row_level_security_hides_other_organizations_links_even_without_a_filter(doc_world):
    other, _ = make_billing_org(name="Other Ltd")
    with tenant_context(other):
        theirs = public.ensure_link(issued(other, make_billing_customer(other), lines=LINES))
    with doc_world.ctx():
        assert not PublicLink.objects.filter(pk=theirs.pk).exists()
        assert public.find_link(doc_world.org.pk, theirs.pk, theirs.nonce) is None
    with tenant_context(other):
        assert public.find_link(other.pk, theirs.pk, theirs.nonce) is not None


def test_drafts_have_no_link_and_void_invoices_show_as_void(doc_world, client):
    with pytest.raises(InvoiceError):
        public.ensure_link(draft(doc_world.org, doc_world.customer))
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    link = link_for(doc_world, invoice)
    with doc_world.ctx():
        void_invoice(invoice, "Issued by mistake")
    page = client.get(public.link_path(link)).content.decode()
    assert 'data-status="void"' in page and "Nothing is owed" in page


def test_one_active_link_per_invoice_and_only_finance_creates_or_revokes(doc_world, client):
    invoice = issued(doc_world.org, doc_world.customer, lines=LINES)
    client.force_login(doc_world.viewer)
    assert client.post(doc_world.url("invoice_link_create", pk=invoice.pk)).status_code == 403
    assert client.post(doc_world.url("invoice_link_revoke", pk=invoice.pk)).status_code == 403
    client.force_login(doc_world.finance)
    assert client.get(doc_world.url("invoice_link_create", pk=invoice.pk)).status_code == 405
    client.post(doc_world.url("invoice_link_create", pk=invoice.pk))
    client.post(doc_world.url("invoice_link_create", pk=invoice.pk))
    with doc_world.ctx():
        assert PublicLink.objects.filter(invoice=invoice).count() == 1


@settings(deadline=None, max_examples=200)
@given(token=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120))
def test_property_no_made_up_token_parses(token):
    assert public.parse_token(token) is None
