"""The owner's API keys page: create (the token is shown once), list with last use, revoke."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api_keys import create_api_key, revoke_api_key
from accounts.models import ApiKey, ApiScope, Role
from accounts.permissions import org_view
from accounts.views.audit import history


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("Which system uses it, e.g. “Web shop”."))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiScope.choices, initial=ApiScope.READ,
                              widget=forms.RadioSelect)


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def api_key_list(request):
    form = ApiKeyForm(request.POST or None)
    created = token = None
    if request.method == "POST" and form.is_valid():
        try:
            created, token = create_api_key(request.org, form.cleaned_data["name"], form.cleaned_data["scope"],
                                            actor=request.user)
        except ValidationError as e:
            form.add_error("name", e)
        else:
            form = ApiKeyForm()
    keys = ApiKey.objects.filter(organization=request.org).select_related("created_by").order_by(
        "revoked_at", "-created_at", "-pk")
    # The token is in this response only: it is not stored, and a reload does not show it again.
    response = render(request, "accounts/api_keys.html", {
        "form": form, "keys": keys, "created": created, "token": token, "active": "api_key_list",
        "api_base": request.build_absolute_uri("/api/v1/"),
        "history": history(request.org, Q(table_name="accounts_apikey")), "history_filter": "kind=accounts_apikey",
    })
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@org_view(Role.OWNER)
def api_key_revoke(request, pk):
    key = get_object_or_404(ApiKey, organization=request.org, pk=pk)
    revoke_api_key(key, actor=request.user)
    messages.success(request, _("Key “%(name)s” revoked: it no longer works.") % {"name": key.name})
    return redirect("api_key_list", org_slug=request.org.slug)
