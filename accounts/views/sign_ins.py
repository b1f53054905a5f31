"""Sign-in history pages: your own, and (owners) a member's."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from accounts import sign_ins
from accounts.models import Membership, Role
from accounts.permissions import org_view


@login_required
def my_sign_ins(request):
    return render(request, "accounts/sign_ins.html", {"person": request.user, "events": sign_ins.recent(request.user)})


@org_view(Role.OWNER)
def member_sign_ins(request, pk):
    # Only members of this organization: a foreign or unknown membership is 404.
    member = get_object_or_404(Membership.objects.select_related("user"), organization=request.org, pk=pk)
    return render(request, "accounts/sign_ins.html", {"person": member.user, "member": member,
                                                      "events": sign_ins.recent(member.user)})
