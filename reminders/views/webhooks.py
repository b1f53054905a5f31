"""The owner's webhook pages (Settings → Webhooks): endpoints, their deliveries and attempts, resend."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_q.tasks import async_task

from accounts.models import Role
from accounts.permissions import org_view
from reminders import webhooks
from reminders.models_webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=500,
                          help_text=gettext_lazy("Where we POST the events, e.g. https://shop.example.com/hooks/ledgerline"))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=100, required=False)
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple, initial=list(WebhookEvent.values))


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def webhook_list(request):
    form = EndpointForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = webhooks.create_endpoint(request.org, form.cleaned_data["url"], form.cleaned_data["events"],
                                               form.cleaned_data["description"], actor=request.user)
        except webhooks.WebhookUrlError as e:
            form.add_error("url", str(e))
        else:
            form = EndpointForm()
    endpoints = WebhookEndpoint.objects.filter(organization=request.org)
    # The secret is in this response only (like a new API key): a reload does not show it again.
    response = render(request, "reminders/webhooks.html", {
        "form": form, "endpoints": endpoints, "created": created, "active": "webhook_list"})
    response["Cache-Control"] = "no-store"
    return response


@org_view(Role.OWNER)
def webhook_detail(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, organization=request.org, pk=pk)
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")[:50])
    return render(request, "reminders/webhook_detail.html", {
        "endpoint": endpoint, "deliveries": deliveries, "active": "webhook_list"})


@require_POST
@org_view(Role.OWNER)
def webhook_resend(request, pk, delivery_pk):
    endpoint = get_object_or_404(WebhookEndpoint, organization=request.org, pk=pk)
    delivery = get_object_or_404(WebhookDelivery, endpoint=endpoint, pk=delivery_pk)
    if not endpoint.is_active:
        messages.error(request, _("The endpoint is disabled; enable it first."))
    else:
        webhooks.resend(delivery)
        org_id = request.org.pk
        transaction.on_commit(lambda: async_task("reminders.tasks.deliver_webhooks_org", org_id,
                                                 group=f"webhooks-{org_id}"))
        messages.success(request, _("Queued again as a new delivery; reload in a moment to see its outcome."))
    return redirect("webhook_detail", org_slug=request.org.slug, pk=endpoint.pk)


@require_POST
@org_view(Role.OWNER)
def webhook_rotate(request, pk):
    """A new signing secret, shown in this response only; the old one signs beside it for a while."""
    endpoint = get_object_or_404(WebhookEndpoint, organization=request.org, pk=pk)
    fresh = webhooks.rotate_secret(endpoint)
    endpoint.refresh_from_db()
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")[:50])
    response = render(request, "reminders/webhook_detail.html", {
        "endpoint": endpoint, "deliveries": deliveries, "active": "webhook_list", "new_secret": fresh})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@org_view(Role.OWNER)
def webhook_enable(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, organization=request.org, pk=pk)
    webhooks.enable(endpoint)
    messages.success(request, _("Enabled: waiting deliveries are sent within a minute."))
    return redirect("webhook_detail", org_slug=request.org.slug, pk=endpoint.pk)


@require_POST
@org_view(Role.OWNER)
def webhook_delete(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, organization=request.org, pk=pk)
    endpoint.delete()
    messages.success(request, _("Endpoint %(url)s deleted; nothing more is sent to it.") % {"url": endpoint.url})
    return redirect("webhook_list", org_slug=request.org.slug)
