"""Public links: a customer opens one invoice without signing in.

The public request arrives with no tenant, and row-level security hides every PublicLink row until a
tenant context is set. The token therefore carries what is needed to set it — the organization id,
the link id and the link's random nonce — but opaquely (issue 22): it is a deterministic
authenticated encryption of those values (SIV construction over HMAC-SHA256 keyed from SECRET_KEY,
django.utils.crypto.salted_hmac with its own salts). Nothing in the token is readable; changing any
bit fails the synthetic-IV check before any query is made. The view then:

1. decrypts and checks the token (tampered → 404, no query made);
2. enters `tenant_context(org id)`;
3. looks the row up by id *and* nonce *and* not revoked, under RLS: a link of another
   organization is invisible in this context even if the token named its id, so → 404;
4. refuses an expired link (404 with a page naming the seller; issue 19): PUBLIC_LINK_DAYS_AFTER_SETTLED
   days after the invoice was settled (paid, credited, written off) or voided, and
   PUBLIC_LINK_MAX_AGE_DAYS after the link was made when that is set.

Deterministic, so the owner can copy the same link again later without storing it; revoking sets
`revoked_at` and a new link gets a new nonce. Rotating SECRET_KEY invalidates all links.
"""

import base64
import binascii
import secrets
import struct
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts import ratelimit
from invoicing.models import Invoice, InvoiceEvent, InvoiceStatus
from invoicing.models_documents import PublicLink
from invoicing.services import InvoiceError, record_event

SALT = "ledgerline.invoicing.public-link"
_IV = 16


def _prf(purpose: str, data: bytes) -> bytes:
    return salted_hmac(f"{SALT}.{purpose}", data, algorithm="sha256").digest()


def _stream(iv: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(_prf("ctr", iv + bytes([n])) for n in range(blocks))[:length]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def make_token(link: PublicLink) -> str:
    plain = struct.pack(">QQ", link.organization_id, link.pk) + link.nonce.encode()
    iv = _prf("siv", plain)[:_IV]
    return base64.urlsafe_b64encode(iv + _xor(plain, _stream(iv, len(plain)))).rstrip(b"=").decode()


def parse_token(token: str) -> tuple[int, int, str] | None:
    """(organization id, link id, nonce) of a genuine token, else None."""
    if not token or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) <= _IV + 16:
        return None
    iv, sealed = raw[:_IV], raw[_IV:]
    plain = _xor(sealed, _stream(iv, len(sealed)))
    if not constant_time_compare(iv, _prf("siv", plain)[:_IV]):
        return None
    org_id, link_id = struct.unpack(">QQ", plain[:16])
    try:
        nonce = plain[16:].decode("ascii")
    except UnicodeDecodeError:
        return None
    return org_id, link_id, nonce


# What settles an invoice (its amount due reaching zero) or ends it: the last such event is when.
SETTLING_EVENTS = ("payment_applied", "credit_applied", "credited", "written_off", "voided")


def expires_at(link: PublicLink):
    """When the link stops working, or None while the invoice is open and no maximum age is set."""
    invoice = link.invoice
    ends = []
    if settings.PUBLIC_LINK_MAX_AGE_DAYS:
        ends.append(link.created_at + timedelta(days=settings.PUBLIC_LINK_MAX_AGE_DAYS))
    if invoice.status == InvoiceStatus.VOID or (invoice.status == InvoiceStatus.ISSUED and invoice.amount_due == 0):
        settled = (InvoiceEvent.objects.filter(invoice=invoice, kind__in=SETTLING_EVENTS)
                   .aggregate(at=Max("at"))["at"] or invoice.issued_at or link.created_at)
        ends.append(settled + timedelta(days=settings.PUBLIC_LINK_DAYS_AFTER_SETTLED))
    return min(ends) if ends else None


def is_expired(link: PublicLink) -> bool:
    end = expires_at(link)
    return end is not None and timezone.now() >= end


def link_path(link: PublicLink) -> str:
    return reverse("public_invoice", kwargs={"token": make_token(link)})


def active_link(invoice: Invoice) -> PublicLink | None:
    return invoice.public_links.filter(revoked_at__isnull=True).first()


def ensure_link(invoice: Invoice, actor=None) -> PublicLink:
    """The invoice's active link, created if there is none (one active link per invoice)."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise InvoiceError(_("A draft has no public link; issue it first."))
    link = active_link(invoice)
    if link is not None:
        return link
    try:
        with transaction.atomic():
            return PublicLink.objects.create(organization_id=invoice.organization_id, invoice=invoice,
                                             nonce=secrets.token_urlsafe(16), created_by=actor)
    except IntegrityError:  # created concurrently: one active link per invoice
        return active_link(invoice)


@transaction.atomic
def revoke_link(link: PublicLink, actor=None) -> None:
    updated = PublicLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor)
    if updated:
        record_event(link.invoice, "link_revoked", _("Public link revoked"), actor)


def find_link(org_id: int, link_id: int, nonce: str, annotate=None) -> PublicLink | None:
    """Inside tenant_context(org_id): the active link, if it exists there. `annotate` may add
    to the same query (the PDF view loads the stored PDF with it)."""
    links = (PublicLink.objects
             .select_related("invoice", "invoice__organization__invoice_settings", "invoice__customer")
             .filter(pk=link_id, organization_id=org_id, revoked_at__isnull=True))
    link = (annotate(links) if annotate else links).first()
    if link is None or not secrets.compare_digest(link.nonce, nonce) or link.invoice.status == InvoiceStatus.DRAFT:
        return None
    return link


def record_view(link: PublicLink) -> bool:
    """Count a view; the first one goes on the invoice's timeline as "viewed". True if first.
    A link loaded as already viewed only counts: one UPDATE, no transaction around it."""
    if link.first_viewed_at is not None:
        PublicLink.objects.filter(pk=link.pk).update(view_count=F("view_count") + 1, last_viewed_at=timezone.now())
        return False
    return _record_first_view(link)


@transaction.atomic
def _record_first_view(link: PublicLink) -> bool:
    """One UPDATE: the row lock makes concurrent first views agree on which one was first."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_publiclink SET view_count = view_count + 1, last_viewed_at = %s,"
            " first_viewed_at = COALESCE(first_viewed_at, %s) WHERE id = %s RETURNING first_viewed_at = %s",
            [now, now, link.pk, now])
        row = cursor.fetchone()
    first = bool(row and row[0])
    if first:
        record_event(link.invoice, "viewed", _("Viewed by the customer through the public link"))
    return first


# --- counting views -------------------------------------------------------------------------
# The page hands its script a ticket signed for this link and this page view; /seen counts a view
# only with an unused, fresh ticket, and at most once per link and client in the interval. So
# holding the link is not enough to inflate the count: each counted view costs a page load, and
# repeats from one client count once.

SEEN_SALT = "ledgerline.invoicing.public-seen"
SEEN_TICKET_MAX_AGE = 24 * 3600


def seen_ticket(link: PublicLink) -> str:
    return signing.TimestampSigner(salt=SEEN_SALT).sign(f"{link.pk}.{secrets.token_urlsafe(12)}")


def ticket_is_fresh(link: PublicLink, ticket: str) -> bool:
    try:
        value = signing.TimestampSigner(salt=SEEN_SALT).unsign(ticket or "", max_age=SEEN_TICKET_MAX_AGE)
    except signing.BadSignature:
        return False
    link_id, _sep, nonce = value.partition(".")
    if link_id != str(link.pk) or not nonce:
        return False
    return ratelimit.hit("public-seen-ticket", value, limit=1, window_seconds=SEEN_TICKET_MAX_AGE)


def count_view(link: PublicLink, client: str | None) -> bool:
    """Count a view unless this client was counted for this link within the interval."""
    if not ratelimit.hit("public-view", f"{link.pk}:{client}", limit=1,
                         window_seconds=settings.PUBLIC_LINK_VIEW_INTERVAL_SECONDS):
        return False
    record_view(link)
    return True
