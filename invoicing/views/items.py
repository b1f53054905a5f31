"""The items catalogue pages (/o/<org>/invoices/items/) and the editor's item suggestions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import org_view
from invoicing.forms_items import ItemForm
from invoicing.items import ItemError, catalogue_currencies, save_item, set_archived, suggest
from invoicing.models_items import Item


@require_GET
@org_view(Role.VIEWER)
def item_list(request):
    q = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "active")
    items = Item.objects.filter(organization=request.org).select_related("tax_rate").prefetch_related("prices")
    if status != "archived":
        status = "active"
    items = items.filter(archived_at__isnull=status == "active")
    if q:
        items = items.filter(Q(code__istartswith=q) | Q(name__icontains=q))
    page = Paginator(items.order_by("code"), 50).get_page(request.GET.get("page"))
    return render(request, "invoicing/item_list.html", {"page": page, "q": q, "status": status})


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def item_create(request):
    return _edit(request, None)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def item_edit(request, pk):
    return _edit(request, get_object_or_404(Item, organization=request.org, pk=pk))


def _edit(request, item):
    currencies = catalogue_currencies(request.org, item)
    form = ItemForm(request.POST or None, instance=item, org=request.org, currencies=currencies)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_item(request.org, item, form.item_fields(), form.prices())
        except ItemError as e:
            form.add_error(None, " ".join(e.messages))
        else:
            messages.success(request, (_("Item %(code)s saved.") if item else _("Item %(code)s added."))
                             % {"code": saved.code})
            return redirect("item_list", org_slug=request.org.slug)
    return render(request, "invoicing/item_form.html", {"form": form, "item": item, "creating": item is None})


@require_POST
@org_view(Role.FINANCE)
def item_archive(request, pk):
    item = get_object_or_404(Item, organization=request.org, pk=pk)
    archive = request.POST.get("archive", "1") == "1"
    set_archived(item, archive)
    messages.success(request, (_("%(code)s archived: it is no longer suggested; invoices that used it keep their "
                                 "lines.") if archive else _("%(code)s restored.")) % {"code": item.code})
    return redirect("item_list", org_slug=request.org.slug)


@require_GET
@never_cache
@org_view(Role.VIEWER)
def item_lookup(request):
    """The editor's item suggestions (static/js/item_picker.js): up to 20 active items whose code
    starts with, or whose name contains, ?q=, each with its price in ?currency=."""
    currency = request.GET.get("currency", "").strip().upper()[:3] or None
    return JsonResponse({"results": suggest(request.org, request.GET.get("q", ""), currency)})
