"""E-mail to an organization's owners (the controls of issue 13): one helper, so every notice
goes to the same people the same way."""

from accounts.models import Membership, Role
from ledger_site import mailer
from ledger_site.tenancy import tenant_context


def owner_emails(org, exclude=None) -> list[str]:
    owners = Membership.objects.filter(organization=org, role=Role.OWNER)
    if exclude is not None:
        owners = owners.exclude(user=exclude)
    return sorted(owners.values_list("user__email", flat=True))


def mail_owners(org, subject: str, body: str, *, exclude=None, attachments=()) -> int:
    """Send one message to the owners (all in To: they are colleagues); the number sent (0 or 1).
    `attachments`: (filename, content, mimetype) triples."""
    with tenant_context(org):  # also after commit, when the request's context may be gone
        emails = owner_emails(org, exclude)
    if not emails:
        return 0
    return mailer.send_now(subject=subject, body=body, to=emails, attachments=attachments)
