"""Sign-up, sign-in (throttled), sign-out and the landing redirect."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import ratelimit, two_factor
from accounts.auth import clear_failures, client_ip, record_failure, remember_device, retry_after
from accounts.forms import EmailAuthenticationForm, OrganizationForm, SignupForm
from accounts.models import Membership, User
from accounts.services import create_organization
from accounts.views.two_factor import start_second_step
from ledger_site import mailer

log = logging.getLogger("accounts.auth")

def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    membership = Membership.objects.filter(user=request.user).select_related("organization").first()
    if membership is None:
        return redirect("org_create")
    return redirect("dashboard", org_slug=membership.organization.slug)


class _EmailTaken(Exception):
    pass


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not ratelimit.hit("signup", client_ip(request) or "-", limit=settings.SIGNUP_PER_CLIENT,
                             window_seconds=settings.ABUSE_WINDOW_SECONDS):
            form.add_error(None, _("Too many sign-ups from this device. Please try again later."))
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        try:
            with transaction.atomic():
                if User.objects.filter(email=data["email"]).exists():
                    raise _EmailTaken
                try:
                    with transaction.atomic():
                        user = User.objects.create_user(data["email"], data["password"],
                                                        full_name=data["full_name"])
                except IntegrityError as e:  # the same address signed up a moment ago
                    raise _EmailTaken from e
                org = create_organization(
                    user, name=data["name"], slug=data["slug"],
                    base_currency=data["base_currency"], country=data["country"].upper(),
                )
        except _EmailTaken:
            # The address has an account. Say nothing about it here; tell its owner by e-mail.
            _tell_owner_of_signup_attempt(request, data["email"])
            return render(request, "accounts/signup_check_email.html", {"email": data["email"]})
        login(request, user, backend="accounts.auth.EmailBackend")
        messages.success(request, _("Welcome to Ledgerline. Start by adding your first customer."))
        return redirect("dashboard", org_slug=org.slug)
    return render(request, "accounts/signup.html", {"form": form})


def _tell_owner_of_signup_attempt(request, email):
    if not ratelimit.hit("signup-notice", email, limit=settings.PASSWORD_RESET_PER_ADDRESS,
                         window_seconds=settings.ABUSE_WINDOW_SECONDS):
        return
    mailer.send_now(
        subject=_("Your Ledgerline account"),
        body=_("Someone tried to create a Ledgerline account with this address, which already has one.\n\n"
          "If it was you, sign in: %(login)s\nForgot the password? Reset it: %(reset)s\n\n"
          "If it was not you, you can ignore this e-mail; nothing changed.\n") % {
            "login": request.build_absolute_uri(reverse("login")),
            "reset": request.build_absolute_uri(reverse("password_reset"))},
        to=[email])


class ResetForm(PasswordResetForm):
    """Django's reset form, its e-mail sent by the one send path (ledger_site.mailer)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        try:
            mailer.send_now(subject=subject, body=body, to=[to_email], from_email=from_email)
        except Exception:  # as Django's form: the page says the same whether or not it went
            log.exception("Failed to send password reset email to %s", context["user"].pk)


class PasswordReset(auth_views.PasswordResetView):
    """Rate-limited per address and per client; over the limit nothing is sent, and the page says
    the same as always (so it tells nothing about whether the address has an account)."""

    form_class = ResetForm

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        window = settings.ABUSE_WINDOW_SECONDS
        if not (ratelimit.hit("password-reset-client", client_ip(self.request) or "-",
                              limit=settings.PASSWORD_RESET_PER_CLIENT, window_seconds=window)
                and ratelimit.hit("password-reset", email, limit=settings.PASSWORD_RESET_PER_ADDRESS,
                                  window_seconds=window)):
            return redirect(self.get_success_url())
        return super().form_valid(form)


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
                if two_factor.is_enabled(user):
                    return start_second_step(request, user, next_url)
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
