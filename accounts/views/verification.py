"""The verification history (owners): every scheduled or manual ledger check, newest first; the
signed checkpoint of the last clean one (accounts.checkpoints)."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.checkpoints import make_checkpoint
from accounts.models import LedgerHead, Role, VerificationRun
from accounts.permissions import org_view


@org_view(Role.OWNER)
def verification_history(request):
    org = request.org
    runs = VerificationRun.objects.filter(organization=org).order_by("-started_at", "-pk")
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    head = LedgerHead.objects.filter(organization=org).first()
    return render(request, "accounts/verification_history.html", {"page": page, "head": head})


@org_view(Role.OWNER)
def verification_checkpoint(request):
    """The signed checkpoint of the last clean check, as a file to keep elsewhere."""
    org = request.org
    head = LedgerHead.objects.filter(organization=org).first()
    if head is None or not head.verified_ok or not head.verified_hash:
        messages.error(request, _("No clean check to sign yet: run “Verify now” first."))
        return redirect("verification_history", org_slug=org.slug)
    body = json.dumps(make_checkpoint(org, head), indent=2) + "\n"
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = (f'attachment; filename="{org.slug}-checkpoint-{head.verified_seq}.json"')
    return response
