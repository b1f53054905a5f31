"""The organization's reply address for reminders (issue 19 #5): used as Reply-To only once the
mailbox's holder has opened a link e-mailed to it (so nobody points customers' replies at an
address that is not theirs, and a typo does not swallow replies)."""

from django.conf import settings as django_settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger_site import mailer
from reminders.models import ReminderSettings

SALT = "ledgerline.reminders.reply-to"
MAX_AGE = 3 * 24 * 3600


def token(settings: ReminderSettings) -> str:
    return signing.dumps({"org": settings.organization_id, "address": settings.reply_to}, salt=SALT)


def send_verification(settings: ReminderSettings, org_name: str) -> None:
    url = django_settings.PUBLIC_BASE_URL.rstrip("/") + reverse("reply_to_verify", kwargs={"token": token(settings)})
    mailer.send_now(subject=_("Confirm the reply address for %(org)s") % {"org": org_name},
                    body=_("Customers' replies to the reminders of %(org)s will come to this address once you "
                           "confirm it:\n\n%(url)s\n\nThe link works for 3 days. If you did not expect this, "
                           "ignore this message.") % {"org": org_name, "url": url},
                    from_email=mailer.sender(settings.organization.name), to=[settings.reply_to])


def parse(value: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(value, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    return int(data["org"]), str(data["address"])


def verify(org_id: int, address: str) -> bool:
    """Inside tenant_context(org_id): mark the address verified if it is still the one set."""
    return bool(ReminderSettings.objects.filter(organization_id=org_id, reply_to=address).update(
        reply_to_verified_at=timezone.now()))
