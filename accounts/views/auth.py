"""Sign-up, sign-in (throttled), sign-out and the landing redirect."""

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.auth import clear_failures, client_ip, record_failure, remember_device, retry_after
from accounts.forms import EmailAuthenticationForm, OrganizationForm, SignupForm
from accounts.models import Membership, User
from accounts.services import create_organization


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    membership = Membership.objects.filter(user=request.user).select_related("organization").first()
    if membership is None:
        return redirect("org_create")
    return redirect("dashboard", org_slug=membership.organization.slug)


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            user = User.objects.create_user(data["email"], data["password"], full_name=data["full_name"])
            org = create_organization(
                user, name=data["name"], slug=data["slug"],
                base_currency=data["base_currency"], country=data["country"].upper(),
            )
        login(request, user, backend="accounts.auth.EmailBackend")
        messages.success(request, _("Welcome to Ledgerline. Start by adding your first customer."))
        return redirect("dashboard", org_slug=org.slug)
    return render(request, "accounts/signup.html", {"form": form})


def sign_in(request):
    form = EmailAuthenticationForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        email, ip = form.cleaned_data["email"], client_ip(request)
        wait = retry_after(email, ip, request)
        if wait:
            form.add_error(None, _("Too many failed attempts from this device. Try again in %(seconds)d seconds, "
                                   "or reset your password.") % {"seconds": wait})
        else:
            user = authenticate(request, email=email, password=form.cleaned_data["password"])
            if user is None:
                record_failure(email, ip)
                form.add_error(None, _("E-mail or password is not correct."))
            else:
                clear_failures(email)
                login(request, user)
                if not url_has_allowed_host_and_scheme(next_url, {request.get_host()},
                                                       require_https=request.is_secure()):
                    next_url = ""
                response = redirect(next_url or "home")
                remember_device(response, user)
                return response
    status = 200 if not form.errors else 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Setting a new password through the e-mailed link also clears the account's failed sign-ins."""

    def form_valid(self, form):
        clear_failures(form.user.email)
        return super().form_valid(form)


@require_POST
def sign_out(request):
    logout(request)
    return redirect("login")


def org_create(request):
    if not request.user.is_authenticated:
        return redirect("login")
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items()}
        data["country"] = data["country"].upper()
        org = create_organization(request.user, **data)
        messages.success(request, _("Organization “%(name)s” created.") % {"name": org.name})
        return redirect("dashboard", org_slug=org.slug)
    return render(request, "accounts/org_create.html", {"form": form})
