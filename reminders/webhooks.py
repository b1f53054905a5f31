"""Webhooks: endpoint checks, the event writer, signing and the sender.

Events: invoicing and payments call `invoicing.hooks.emit` where each event happens (and a
Customer post_save for "customer created"); `record_event` below, registered in
RemindersConfig.ready, writes one WebhookDelivery per active endpoint subscribed to the event, in
that same transaction: an event that rolls back sends nothing, one that commits is delivered.

Sending runs on the one outbox engine (ledger_site/outbox.py), like the reminder outbox: `deliver()`
claims a batch (pending → sending, attempts + 1, a lease in database time, a claim token) in a short
transaction, posts
outside any transaction, then records the attempt and the outcome only if its token is still on
the row. At-least-once: a crash between the receiver's 2xx and our commit re-sends the same body
with the same event id (receivers drop duplicates by it). Failures retry after BACKOFF; after
MAX_ATTEMPTS the delivery is failed. WEBHOOKS_DISABLE_AFTER consecutive failed attempts to an
endpoint disable it and e-mail its organization's owners once.

Addresses: the URL must be http(s), without credentials, and (unless WEBHOOKS_ALLOW_PRIVATE)
its host must resolve only to public addresses, at registration and again at each attempt; the
connection is then made to the address that was checked (no second lookup a DNS answer could
change), and redirects are not followed (a 3xx is a failure).
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, Role
from ledger_site import mailer
from ledger_site import outbox as engine
from ledger_site.tenancy import current_organization, tenant_context
from reminders.models_webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger("reminders.webhooks")
# Claiming, leases and backoff are the one engine's (ledger_site.outbox); this is its data. Only
# deliveries to an active endpoint are claimed.
BOX = engine.Outbox(
    table="reminders_webhookdelivery",
    lease=timedelta(seconds=30),  # WEBHOOKS_TIMEOUT (10 s) stays below it: one attempt cannot outlive its lease
    backoff=tuple(timedelta(minutes=m) for m in (1, 5, 30, 120, 480, 1440)),  # after attempt 1, 2, ...
    join="JOIN reminders_webhookendpoint e ON e.id = x.endpoint_id", where="AND e.is_active", batch=20)
LEASE = BOX.lease
BACKOFF = list(BOX.backoff)
MAX_ATTEMPTS = BOX.max_attempts
BATCH = BOX.batch
USER_AGENT = "Ledgerline-Webhooks/1"


class WebhookUrlError(ValueError):
    pass


# --- Addresses ------------------------------------------------------------------------------

def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (a module function, so a test can play a DNS answer)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable endpoint URL, or WebhookUrlError saying why not."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise WebhookUrlError(_("This is not a valid URL.")) from e
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError(_("Use an http:// or https:// URL."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise WebhookUrlError(_("Do not put a user name or password in the URL; verify our signature instead."))
    if not parts.hostname:
        raise WebhookUrlError(_("The URL has no host name."))
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def vetted_address(host: str, port: int) -> str:
    """The address to connect to: resolved now, refused if any answer is not a public address."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as e:
        raise WebhookUrlError(_("The host name %(host)s does not resolve.") % {"host": host}) from e
    if not addresses:
        raise WebhookUrlError(_("The host name %(host)s does not resolve.") % {"host": host})
    if not django_settings.WEBHOOKS_ALLOW_PRIVATE:
        bad = [a for a in addresses if forbidden_address(a)]
        if bad:
            raise WebhookUrlError(_("%(host)s resolves to %(addr)s, a private, loopback, link-local or otherwise "
                                    "non-public address; webhooks go to public addresses only.")
                                  % {"host": host, "addr": bad[0]})
    return addresses[0]


def validate_endpoint_url(url: str) -> str:
    scheme, host, port = check_url(url)
    vetted_address(host, port)
    return url.strip()


# --- Endpoints and events -------------------------------------------------------------------

def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


@transaction.atomic
def create_endpoint(org: Organization, url: str, events: list[str], description: str = "",
                    actor=None) -> WebhookEndpoint:
    url = validate_endpoint_url(url)
    known = set(WebhookEvent.values)
    events = [e for e in dict.fromkeys(events) if e in known]
    if not events:
        raise WebhookUrlError(_("Choose at least one event."))
    if WebhookEndpoint.objects.filter(organization=org, url=url).exists():
        raise WebhookUrlError(_("An endpoint with this URL exists already."))
    return WebhookEndpoint.objects.create(organization=org, url=url, events=events, description=description[:100],
                                          secret=new_secret(), created_by=actor)


# Whether the request's organization has an active endpoint, answered in a round trip the request
# makes anyway (the API key's, ledger_site.api_support): most organizations have none, and their
# events then cost no read of the endpoints. The answer lives on the request's Organization
# instance (tenancy's current organization), so it ends with the request: no cache to invalidate.
# An endpoint registered while the request runs is concurrent with its events, and either order
# is a true one; the endpoint gets the events of requests that start after it was saved.
# `{org}`: the SQL expression of the organization's id in the caller's statement.
ENDPOINTS_EXIST_SQL = ("SELECT EXISTS (SELECT 1 FROM reminders_webhookendpoint e"
                       " WHERE e.organization_id = {org} AND e.is_active)")
_ENDPOINTS_FLAG = "_has_active_webhook_endpoints"


def note_endpoints(org: Organization, exist: bool) -> None:
    """Record on the request's `org` whether it had an active endpoint when the request began."""
    setattr(org, _ENDPOINTS_FLAG, bool(exist))


def _known_without_endpoints(organization_id: int) -> bool:
    org = current_organization()
    return org is not None and org.pk == organization_id and getattr(org, _ENDPOINTS_FLAG, True) is False


def record_event(organization_id: int, event_type: str, data: dict) -> list[WebhookDelivery]:
    """The EVENT_HOOKS writer: one outbox row per active endpoint subscribed to the event."""
    if _known_without_endpoints(organization_id):
        return []
    endpoints = list(WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True,
                                                    events__contains=[event_type]).only("pk"))
    if not endpoints:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    body = json.dumps({"id": str(event_id), "type": event_type, "created": now.isoformat(),
                       "organization": organization_id, "data": data}, separators=(",", ":"), sort_keys=True)
    return WebhookDelivery.objects.bulk_create([
        WebhookDelivery(organization_id=organization_id, endpoint=e, event_id=event_id, event_type=event_type,
                        body=body, created_at=now, next_attempt_at=now) for e in endpoints])


def record_events(organization_id: int, events: list[tuple[str, dict]]) -> list[WebhookDelivery]:
    """`record_event` for many events (invoicing.hooks.batched): one read of the endpoints, one insert."""
    if _known_without_endpoints(organization_id):
        return []
    # An organization has a handful of endpoints: read the active ones, match the events here.
    endpoints = list(WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True)
                     .only("pk", "events"))
    if not endpoints:
        return []
    now = timezone.now()
    rows = []
    for event_type, data in events:
        subscribed = [e for e in endpoints if event_type in (e.events or ())]
        if not subscribed:
            continue
        event_id = uuid.uuid4()
        body = json.dumps({"id": str(event_id), "type": event_type, "created": now.isoformat(),
                           "organization": organization_id, "data": data}, separators=(",", ":"), sort_keys=True)
        rows.extend(WebhookDelivery(organization_id=organization_id, endpoint=e, event_id=event_id,
                                    event_type=event_type, body=body, created_at=now, next_attempt_at=now)
                    for e in subscribed)
    return WebhookDelivery.objects.bulk_create(rows)


def customer_saved(sender, instance, created, raw=False, **kwargs):
    """customer.created / customer.updated (an edit, an archive) from the model's post_save."""
    if raw:
        return
    event = WebhookEvent.CUSTOMER_CREATED if created else WebhookEvent.CUSTOMER_UPDATED
    record_event(instance.organization_id, event.value, {
        "id": instance.pk, "code": instance.code, "name": instance.name, "currency": instance.currency,
        "billing_emails": instance.billing_emails, "archived": instance.archived_at is not None})


@transaction.atomic
def resend(delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """A new delivery of the same event (same body and event id, a new delivery id)."""
    now = now or timezone.now()
    return WebhookDelivery.objects.create(
        organization_id=delivery.organization_id, endpoint_id=delivery.endpoint_id, event_id=delivery.event_id,
        event_type=delivery.event_type, body=delivery.body, created_at=now, next_attempt_at=now, resend_of=delivery)


@transaction.atomic
def enable(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True, consecutive_failures=0, disabled_at=None,
                                                          disabled_reason="")


# --- Signing --------------------------------------------------------------------------------

def _mac(secret: str, timestamp: int, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body: str, previous: str = "") -> str:
    """`t=<unix time>,v1=<HMAC-SHA256 of "t.body">`; while a rotated-out secret is still within
    its overlap, a second `v1=` made with it follows (a receiver accepts any one that matches)."""
    header = f"t={timestamp},v1={_mac(secret, timestamp, body)}"
    return header + (f",v1={_mac(previous, timestamp, body)}" if previous else "")


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, str]:
    """(current secret, the previous one while its overlap lasts, else "")."""
    until = endpoint.previous_secret_until
    return endpoint.secret, endpoint.previous_secret if until is not None and now < until else ""


@transaction.atomic
def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new signing secret, returned once to show the owner. The old one keeps signing beside it
    for WEBHOOKS_SECRET_OVERLAP_HOURS, so receivers can be switched over without a failed delivery;
    rotating again within the overlap retires the oldest at once (only two ever sign)."""
    now = now or timezone.now()
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    fresh = new_secret()
    overlap = timedelta(hours=django_settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
    WebhookEndpoint.objects.filter(pk=locked.pk).update(secret=fresh, previous_secret=locked.secret,
                                                        previous_secret_until=now + overlap)
    return fresh


# --- Sending --------------------------------------------------------------------------------

@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.delivered or self.retrying or self.failed)


def claim(org_id: int, now: datetime, ids=None, limit: int = BATCH) -> list[tuple[int, str]]:
    return engine.claim(BOX, org_id, now, ids=ids, limit=limit)


def deliver(org_id: int, now: datetime | None = None, ids=None, max_batches: int | None = None) -> Report:
    """Post every claimable delivery of the organization (or just `ids`). Safe to run concurrently."""
    report = Report()
    with tenant_context(org_id):
        for outcome in engine.run(BOX, org_id, send_one, now=now, ids=ids, max_batches=max_batches):
            if outcome:
                setattr(report, outcome, getattr(report, outcome) + 1)
    return report


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the vetted address, whatever the name would resolve to now; Host stays the name."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: str, headers: dict) -> int:
    """POST once; the response status (redirects are not followed). Raises on refusal or network error."""
    scheme, host, port = check_url(url)
    address = vetted_address(host, port)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, address, django_settings.WEBHOOKS_TIMEOUT)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        response.read(4096)  # a little of the answer, then hang up
        return response.status
    finally:
        conn.close()


def send_one(row_id: int, token: str, now: datetime) -> str | None:
    row = WebhookDelivery.objects.select_related("endpoint").get(pk=row_id)
    if row.status != DeliveryStatus.SENDING or row.claim_token != token:
        return None
    timestamp = int(time.time())
    current, previous = signing_secrets(row.endpoint, timezone.now())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Ledgerline-Event": row.event_type, "Ledgerline-Delivery": str(row.delivery_id),
               "Ledgerline-Signature": signature(current, timestamp, row.body, previous)}
    started = time.monotonic()
    status, error = None, ""
    try:
        status = post(row.endpoint.url, row.body, headers)
        if not 200 <= status < 300:
            error = (_("The receiver answered %(code)s (redirects are not followed).") if 300 <= status < 400
                     else _("The receiver answered %(code)s.")) % {"code": status}
    except WebhookUrlError as e:
        error = str(e)
    except (OSError, http.client.HTTPException) as e:
        error = f"{type(e).__name__}: {e}"
    elapsed = int((time.monotonic() - started) * 1000)
    return _finish(row_id, token, now, status, elapsed, error[:500])


def _finish(row_id, token, now, status, elapsed, error) -> str | None:
    disabled = None
    with transaction.atomic():
        row = engine.lock_if_ours(WebhookDelivery.objects.all(), BOX, row_id, token)
        if row is None:
            return None  # our lease ran out and another sender took it over
        WebhookAttempt.objects.create(organization_id=row.organization_id, delivery=row, number=row.attempts,
                                      at=now, status_code=status, duration_ms=elapsed, error=error)
        endpoints = WebhookEndpoint.objects.filter(pk=row.endpoint_id)
        if not error:
            row.lease_until, row.last_error = None, error
            row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
            endpoints.update(consecutive_failures=0)
            outcome = "delivered"
        else:
            failed = engine.retry_or_fail(BOX, row, now, error) == DeliveryStatus.FAILED
            outcome = "failed" if failed else "retrying"
            with connection.cursor() as cursor:
                cursor.execute("UPDATE reminders_webhookendpoint SET consecutive_failures = consecutive_failures + 1 "
                               "WHERE id = %s RETURNING consecutive_failures", [row.endpoint_id])
                failures = cursor.fetchone()[0]
            if failures >= django_settings.WEBHOOKS_DISABLE_AFTER:
                reason = _("Disabled after %(n)s failed attempts in a row; last: %(error)s") % {
                    "n": failures, "error": error}
                # Only the transition disables (and e-mails): concurrent senders cannot both win it.
                if endpoints.filter(is_active=True).update(is_active=False, disabled_at=now,
                                                            disabled_reason=reason[:500]):
                    disabled = row.endpoint_id
        row.save(update_fields=["status", "delivered_at", "next_attempt_at", "lease_until", "last_error"])
        if disabled:
            org_id = row.organization_id
            transaction.on_commit(lambda: _tell_owners(org_id, disabled))
    return outcome


def _tell_owners(org_id: int, endpoint_id: int) -> None:
    with tenant_context(org_id):
        endpoint = WebhookEndpoint.objects.select_related("organization").get(pk=endpoint_id)
        emails = [e for e in Membership.objects.filter(organization_id=org_id, role=Role.OWNER)
                  .values_list("user__email", flat=True) if e]
    if not emails:
        return
    link = f"{django_settings.PUBLIC_BASE_URL}/o/{endpoint.organization.slug}/reminders/webhooks/{endpoint.pk}/"
    try:
        mailer.send_now(
            subject=_("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url},
            body=_("Ledgerline stopped sending events to %(url)s for %(org)s.\n\n%(reason)s\n\n"
                   "Events keep being recorded. Once the receiver works again, enable the endpoint and resend "
                   "what it missed: %(link)s\n") % {"url": endpoint.url, "org": endpoint.organization.name,
                                                      "reason": endpoint.disabled_reason, "link": link},
            to=emails)
    except Exception:  # noqa: BLE001 - the endpoint is disabled either way; its page says so
        log.exception("webhook endpoint %s disabled; the owners could not be e-mailed", endpoint_id)
