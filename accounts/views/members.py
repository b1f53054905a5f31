"""Organization settings and members: owners invite, change roles, remove."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import two_factor
from accounts.forms import InviteeForm, InviteForm, OrganizationForm, RoleForm
from accounts.models import Customer, Invitation, Membership, Role, User
from accounts.permissions import org_view
from accounts.services import change_role, remove_member
from ledger_site import mailer
from ledger_site.tenancy import set_db_context, tenant_context

INVITE_SALT = "ledgerline.invitation"


@org_view(Role.VIEWER)
def dashboard(request):
    return render(request, "accounts/dashboard.html", {
        "customer_count": Customer.objects.filter(organization=request.org).count(),
    })


@org_view(Role.OWNER)
def org_settings(request):
    form = OrganizationForm(request.POST or None, instance=request.org)
    if (request.method == "POST" and form.is_valid() and form.cleaned_data.get("require_two_factor")
            and not two_factor.is_enabled(request.user)):
        # Requiring it without having it would send the owner away from their own settings.
        form.add_error("require_two_factor", _("Turn on two-factor sign-in for yourself first."))
    if request.method == "POST" and form.is_valid():
        org = form.save()
        messages.success(request, _("Settings saved."))
        return redirect("org_settings", org_slug=org.slug)
    return render(request, "accounts/org_settings.html", {"form": form})


@org_view(Role.OWNER)
def member_list(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if Membership.objects.filter(organization=request.org, user__email=email).exists():
            form.add_error("email", _("This person is already a member."))
        else:
            invitation = form.save(commit=False)
            invitation.organization = request.org
            invitation.invited_by = request.user
            invitation.save()
            _send_invitation(request, invitation)
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
            return redirect("member_list", org_slug=request.org.slug)
    return render(request, "accounts/members.html", {
        "form": form,
        "members": Membership.objects.filter(organization=request.org).select_related("user")
        .order_by("user__email"),
        "invitations": Invitation.objects.filter(organization=request.org, accepted_at=None,
                                                 revoked_at=None).order_by("-created_at"),
        "roles": Role.choices,
        "owner_count": Membership.objects.filter(organization=request.org, role=Role.OWNER).count(),
    })


def _send_invitation(request, invitation):
    token = signing.dumps({"i": invitation.pk, "o": invitation.organization_id, "n": invitation.nonce},
                          salt=INVITE_SALT)
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    mailer.send_now(
        subject=_("You are invited to %(org)s on Ledgerline") % {"org": invitation.organization.name},
        body=_("%(who)s invited you to join %(org)s as %(role)s.\n\nAccept within 7 days: %(link)s\n") % {
            "who": request.user, "org": invitation.organization.name,
            "role": invitation.get_role_display(), "link": link},
        to=[invitation.email],
    )


@require_POST
@org_view(Role.OWNER)
def invitation_revoke(request, pk):
    invitation = get_object_or_404(Invitation, organization=request.org, pk=pk)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    messages.success(request, _("Invitation revoked."))
    return redirect("member_list", org_slug=request.org.slug)


@require_POST
@org_view(Role.OWNER)
def member_role(request, pk):
    membership = get_object_or_404(Membership, organization=request.org, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
    else:
        try:
            with transaction.atomic():
                change_role(membership, form.cleaned_data["role"])
            messages.success(request, _("Role changed."))
        except ValidationError as e:
            messages.error(request, e.messages[0])
    return redirect("member_list", org_slug=request.org.slug)


@require_POST
@org_view(Role.OWNER)
def member_remove(request, pk):
    membership = get_object_or_404(Membership, organization=request.org, pk=pk)
    leaving = membership.user_id == request.user.pk
    try:
        with transaction.atomic():
            remove_member(membership)
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("member_list", org_slug=request.org.slug)
    if leaving:
        messages.success(request, _("You left %(org)s.") % {"org": request.org.name})
        return redirect("home")
    messages.success(request, _("Member removed."))
    return redirect("member_list", org_slug=request.org.slug)


def invitation_accept(request, token):
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=settings.INVITATION_MAX_AGE_SECONDS)
        org_id, pk, nonce = int(data["o"]), int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as e:
        raise Http404 from e
    with tenant_context(org_id, request.user if request.user.is_authenticated else None):
        invitation = Invitation.objects.select_related("organization").filter(
            pk=pk, organization_id=org_id).first()
        if invitation is None or not invitation.is_pending or not constant_time_compare(invitation.nonce, nonce):
            raise Http404
        if not request.user.is_authenticated:
            return _accept_as_newcomer(request, invitation)
        if request.user.email.lower() != invitation.email.lower():
            return render(request, "accounts/invitation_wrong_user.html",
                          {"invitation": invitation}, status=403)
        if request.method == "POST":
            return _join(request, invitation, request.user)
        return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


def _join(request, invitation, user):
    Membership.objects.get_or_create(organization=invitation.organization, user=user,
                                     defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    messages.success(request, _("You joined %(org)s.") % {"org": invitation.organization.name})
    return redirect("dashboard", org_slug=invitation.organization.slug)


def _accept_as_newcomer(request, invitation):
    """Someone invited who has no account yet sets a name and password right here."""
    if User.objects.filter(email=invitation.email).exists():
        messages.info(request, _("Sign in as %(email)s to accept the invitation.")
                      % {"email": invitation.email})
        return redirect(f"{reverse('login')}?next={request.path}")
    form = InviteeForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(invitation.email, form.cleaned_data["password"],
                                        full_name=form.cleaned_data["full_name"])
        login(request, user, backend="accounts.auth.EmailBackend")
        set_db_context(invitation.organization_id, user.pk)
        return _join(request, invitation, user)
    return render(request, "accounts/invitation_accept.html",
                  {"invitation": invitation, "signup_form": form})
