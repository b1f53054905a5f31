"""The items catalogue's rules: saving an item with its prices, archiving, and the editor's
suggestions. Pages and the invoice editor call these; nothing else writes the item tables."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.locale import plain
from accounts.models import Customer
from accounts.money import MoneyError, check_exact
from invoicing.models_items import Item, ItemPrice

SUGGESTIONS = 20
MAX_TEXT = 200


class ItemError(LedgerError):
    """A refused catalogue change; nothing was changed."""


def catalogue_currencies(org, item: Item | None = None) -> list[str]:
    """The currencies an item may be priced in on its form: the base currency, every customer's
    currency and any the item is priced in already."""
    found = {org.base_currency}
    found.update(Customer.objects.filter(organization=org).values_list("currency", flat=True).distinct())
    if item is not None and item.pk:
        found.update(item.prices.values_list("currency", flat=True))
    return sorted(found, key=lambda c: (c != org.base_currency, c))


@transaction.atomic
def save_item(org, item: Item | None, fields: dict, prices: dict[str, Decimal | None]) -> Item:
    """Create or update an item and replace its prices ({currency: price or None to drop}).

    Refused (ItemError, nothing changed): another item has the code; a price with more decimals
    than its currency has, or negative; a tax rate of another organization.
    """
    code = fields["code"].strip().upper()
    clash = Item.objects.filter(organization=org, code=code)
    if item is not None and item.pk:
        clash = clash.exclude(pk=item.pk)
    if clash.exists():
        raise ItemError(_("Another item has the code %(code)s.") % {"code": code})
    rate = fields.get("tax_rate")
    if rate is not None and rate.organization_id != org.pk:
        raise ItemError(_("Choose one of your tax rates."))
    exact = {}
    for currency, price in prices.items():
        if price is None:
            continue
        if price < 0:
            raise ItemError(_("A price cannot be negative (%(currency)s).") % {"currency": currency})
        try:
            exact[currency] = check_exact(price, currency)
        except MoneyError:
            raise ItemError(_("The %(currency)s price %(price)s has more decimals than %(currency)s has.")
                            % {"currency": currency, "price": price}) from None
    if item is None:
        item = Item(organization=org)
    for name, value in fields.items():
        setattr(item, name, value)
    item.code = code
    item.save()
    item.prices.exclude(currency__in=list(exact)).delete()
    for currency, price in exact.items():
        ItemPrice.objects.update_or_create(organization=org, item=item, currency=currency,
                                           defaults={"unit_price": price})
    return item


def set_archived(item: Item, archived: bool) -> Item:
    item.archived_at = timezone.now() if archived else None
    item.save(update_fields=["archived_at"])
    return item


def suggest(org, text: str, currency: str | None = None, limit: int = SUGGESTIONS) -> list[dict]:
    """Active items whose code starts with, or whose name contains, `text` (any case), exact code
    first; each with its price in `currency` (None when it has none) and its tax rate."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        return []
    items = list(Item.objects.active().filter(organization=org)
                 .filter(Q(code__istartswith=text) | Q(name__icontains=text))
                 .select_related("tax_rate").order_by(Lower("name"), "pk")[:limit])
    upper, lower = text.upper(), text.lower()
    items.sort(key=lambda i: 0 if i.code == upper else 1 if i.code.startswith(upper)
               else 2 if i.name.lower().startswith(lower) else 3)
    prices = {}
    if currency:
        prices = dict(ItemPrice.objects.filter(organization=org, item__in=items, currency=currency)
                      .values_list("item_id", "unit_price"))
    return [{"id": i.pk, "code": i.code, "name": i.name, "description": i.line_description, "unit": i.unit,
             "unit_price": _plain(prices.get(i.pk)), "currency": currency or "",
             "tax_rate": i.tax_rate_id if i.tax_rate_id and not i.tax_rate.archived else None}
            for i in items]


def _plain(value):
    return None if value is None else plain(value)


def items_by_id(org, ids) -> dict[int, Item]:
    """The organization's items among `ids` (archived ones included: a draft may keep one)."""
    ids = {int(i) for i in ids if i}
    return {i.pk: i for i in Item.objects.filter(organization=org, pk__in=ids)} if ids else {}
