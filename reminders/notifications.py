"""Staff notifications (issue 19 #8): one row per user, once per subject (`key`)."""

from django.db import IntegrityError, transaction

from accounts.models import Membership, Role
from reminders.models_collections import Notification


def notify(org_id: int, user_ids, kind: str, text: str, *, url: str = "", key: str) -> int:
    made = 0
    for user_id in user_ids:
        try:
            with transaction.atomic():
                Notification.objects.create(organization_id=org_id, user_id=user_id, kind=kind, text=text[:500],
                                            url=url[:300], key=key[:100])
                made += 1
        except IntegrityError:
            pass  # already told
    return made


def notify_staff(org_id: int, kind: str, text: str, *, url: str = "", key: str, assignee_id: int | None = None):
    """The assignee if there is one, else every finance member and owner."""
    users = [assignee_id] if assignee_id else list(Membership.objects.filter(
        organization_id=org_id, role__in=[Role.FINANCE, Role.OWNER]).values_list("user_id", flat=True))
    return notify(org_id, users, kind, text, url=url, key=key)


def unread_count(org_id: int, user_id: int) -> int:
    return Notification.objects.filter(organization_id=org_id, user_id=user_id, read_at__isnull=True).count()
