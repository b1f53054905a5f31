"""The in-app user guide (issue 21 point 15): short task-oriented pages in plain words, linked
from the "?" in the top bar (which opens the page for the section you are in)."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.permissions import org_view

TOPICS = {
    "getting-started": _("Getting started"),
    "invoicing": _("Invoicing"),
    "payments": _("Payments"),
    "reminders": _("Reminders"),
    "reports": _("Reports"),
    "closing-a-month": _("Closing a month"),
}
# Which guide page the "?" opens, by the first part of the page's address under /o/<org>/.
SECTION_TOPIC = {"invoices": "invoicing", "credit-notes": "invoicing", "quotes": "invoicing",
                 "payments": "payments", "reminders": "reminders", "reports": "reports",
                 "ledger": "closing-a-month", "settings": "getting-started", "customers": "getting-started"}


def topic_for_path(path: str, slug: str) -> str:
    rest = path.split(f"/o/{slug}/", 1)[-1]
    return SECTION_TOPIC.get(rest.split("/", 1)[0], "getting-started")


@org_view(Role.VIEWER)
def guide(request, topic="getting-started"):
    if topic not in TOPICS:
        raise Http404
    return render(request, "guide.html", {"topic": topic, "title": TOPICS[topic], "topics": TOPICS.items()})
