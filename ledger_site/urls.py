from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import auth, language, members, sign_ins, two_factor
from invoicing.urls import public_urlpatterns as invoice_public_urls
from ledger_site.api import urls as api_urls
from ledger_site.guide import guide
from ledger_site.onboarding import setup_checklist
from ledger_site.search import search_view
from reminders.urls import portal_urlpatterns
from reports.views.reports import dashboard
from reports.views.subscriptions import organizations_overview

# Everything an organization owns lives under /o/<org_slug>/; each app adds its own list.
org_patterns = [
    path("", dashboard, name="dashboard"),  # the organization's home page: reports' dashboard
    path("search/", search_view, name="global_search"),  # the top bar's search (issue 21)
    path("setup/", setup_checklist, name="setup_checklist"),  # a new organization's checklist (issue 21)
    path("guide/", guide, name="guide"),  # the user guide (issue 21)
    path("guide/<slug:topic>/", guide, name="guide_topic"),
    path("", include("accounts.urls_org")),
    path("", include("invoicing.urls")),  # invoices/ and credit notes, their documents; settings/ for invoicing
    path("payments/", include("payments.urls")),
    path("reminders/", include("reminders.urls")),
    path("reports/", include("reports.urls")),
]

urlpatterns = [
    path("", auth.home, name="home"),
    path("signup/", auth.signup, name="signup"),
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("login/two-factor/", two_factor.login_two_factor, name="login_two_factor"),
    path("account/two-factor/", two_factor.two_factor_settings, name="two_factor_settings"),
    path("login/passkey/options/", two_factor.login_passkey_options, name="login_passkey_options"),
    path("login/passkey/", two_factor.login_passkey, name="login_passkey"),
    path("account/passkeys/options/", two_factor.passkey_options, name="passkey_options"),
    path("account/passkeys/add/", two_factor.passkey_add, name="passkey_add"),
    path("account/passkeys/<int:pk>/remove/", two_factor.passkey_remove, name="passkey_remove"),
    path("account/sign-ins/", sign_ins.my_sign_ins, name="my_sign_ins"),
    path("account/language/", language.language_settings, name="language_settings"),  # issue 17
    path("orgs/new/", auth.org_create, name="org_create"),
    path("overview/", organizations_overview, name="organizations_overview"),  # issue 20: across organizations
    path("invitations/<str:token>/", members.invitation_accept, name="invitation_accept"),
    path("password-reset/", auth.PasswordReset.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/password_reset_email.txt"), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth.PasswordResetConfirm.as_view(
        template_name="accounts/password_reset_confirm.html"), name="password_reset_confirm"),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
    path("o/<slug:org_slug>/", include(org_patterns)),
    # The customer's signed link: outside /o/, no login; the token sets the tenant (invoicing.public).
    path("p/", include(invoice_public_urls)),
    path("p/", include(portal_urlpatterns)),  # the customer portal on the same link (reminders.portal)
    # The JSON API: an API key (not a session) sets the organization; see ledger_site/api.py.
    path("api/v1/", api_urls()),
]

handler404 = "ledger_site.api.not_found_handler"
