"""The verification history (owners): every scheduled or manual ledger check, newest first."""

from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.models import LedgerHead, Role, VerificationRun
from accounts.permissions import org_view


@org_view(Role.OWNER)
def verification_history(request):
    org = request.org
    runs = VerificationRun.objects.filter(organization=org).order_by("-started_at", "-pk")
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    head = LedgerHead.objects.filter(organization=org).first()
    return render(request, "accounts/verification_history.html", {"page": page, "head": head})
