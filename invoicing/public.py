"""Signed public links: a customer opens one invoice without signing in.

Why a signed token rather than a random one stored hashed: the public request arrives with no
tenant, and row-level security hides every PublicLink row until a tenant context is set. The
token therefore carries what is needed to set it — `<org id>.<link id>.<nonce>` signed with
HMAC-SHA256 under SECRET_KEY (django.core.signing, own salt) — and the view:

1. checks the signature before touching the database (tampered → 404, no query made);
2. enters `tenant_context(org id)`;
3. looks the row up by id *and* nonce *and* not revoked, under RLS: a link of another
   organization is invisible in this context even if the token named its id, so → 404.

No SECURITY DEFINER function that maps tokens to organizations across tenants is needed, and
RLS stays the backstop for the lookup itself. The token is unguessable (256-bit HMAC) and
scoped to one row, hence one document; revoking sets `revoked_at`, and a new link gets a new
nonce, so a revoked URL never works again. Because the token is derived from the row and the
secret, the owner can copy the same link again later (nothing secret is stored in clear: the
nonce alone is useless without SECRET_KEY). Rotating SECRET_KEY invalidates all links.
"""

import secrets

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing.models import Invoice, InvoiceStatus
from invoicing.models_documents import PublicLink
from invoicing.services import InvoiceError, record_event

SALT = "ledgerline.invoicing.public-link"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def make_token(link: PublicLink) -> str:
    return _signer().sign(f"{link.organization_id}.{link.pk}.{link.nonce}")


def parse_token(token: str) -> tuple[int, int, str] | None:
    """(organization id, link id, nonce) of a genuine token, else None."""
    if not token or len(token) > 200:
        return None
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


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
