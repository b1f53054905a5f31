"""The items catalogue: saving items and prices, bad input, the editor's suggestions, and lines
that keep their own copy when the item changes or is archived."""

from decimal import Decimal

import pytest

from invoicing.items import ItemError, save_item, set_archived, suggest
from invoicing.models import Invoice, InvoiceLine, TaxRate
from invoicing.models_items import Item, ItemPrice
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing.test_editor import form_data

pytestmark = pytest.mark.django_db


def make_item(acme, code="WEB-H", name="Web design", prices=None, **fields):
    with acme.ctx():
        rate, _ = TaxRate.objects.get_or_create(organization=acme.org, percent=Decimal("20"),
                                                defaults={"name": "Standard"})
        base = {"code": code, "name": name, "description": "", "unit": "h", "tax_rate": rate}
        return save_item(acme.org, None, {**base, **fields}, prices or {"EUR": Decimal("95.00")})


def item_post(code="SUP-1", name="Support plan", **extra):
    return {"code": code, "name": name, "description": "", "unit": "month", "tax_rate": "", "price_EUR": "49.90",
            **extra}


def test_save_item_stores_the_code_in_capitals_and_one_price_per_currency(acme):
    item = make_item(acme, code="web-h", prices={"EUR": Decimal("95"), "JPY": Decimal("12000")})
    with acme.ctx():
        assert item.code == "WEB-H"
        assert dict(item.prices.values_list("currency", "unit_price")) == {"EUR": Decimal("95"),
                                                                           "JPY": Decimal("12000")}
        save_item(acme.org, item, {"code": "WEB-H", "name": "Web design", "description": "", "unit": "h",
                                   "tax_rate": None}, {"EUR": Decimal("99.50"), "JPY": None})
        assert dict(item.prices.values_list("currency", "unit_price")) == {"EUR": Decimal("99.50")}


@pytest.mark.parametrize("prices, message", [
    ({"EUR": Decimal("1.005")}, "more decimals than EUR"),
    ({"JPY": Decimal("100.5")}, "more decimals than JPY"),
    ({"EUR": Decimal("-1")}, "cannot be negative"),
])
def test_a_price_the_currency_cannot_hold_is_refused_and_nothing_changes(acme, prices, message):
    item = make_item(acme)
    with acme.ctx():
        with pytest.raises(ItemError, match=message):
            save_item(acme.org, item, {"code": "WEB-H", "name": "Renamed", "description": "", "unit": "h",
                                       "tax_rate": None}, prices)
        item.refresh_from_db()
        assert item.name == "Web design"
        assert list(item.prices.values_list("currency", "unit_price")) == [("EUR", Decimal("95.00"))]


def test_a_second_item_with_the_same_code_is_refused(acme):
    make_item(acme, code="WEB-H")
    with acme.ctx(), pytest.raises(ItemError, match="Another item has the code WEB-H"):
        save_item(acme.org, None, {"code": "web-h", "name": "Other", "description": "", "unit": "",
                                   "tax_rate": None}, {})
    with acme.ctx():
        assert Item.objects.count() == 1


def test_the_same_code_in_another_organization_is_fine(acme):
    make_item(acme, code="WEB-H")
    other, owner = make_org()
    with tenant_context(other, owner):
        save_item(other, None, {"code": "WEB-H", "name": "Theirs", "description": "", "unit": "",
                                "tax_rate": None}, {})
        assert Item.objects.count() == 1  # row-level security: only their own


def test_suggestions_rank_the_exact_code_first_and_carry_the_price_in_the_currency(acme):
    make_item(acme, code="HOST", name="Web hosting", prices={"EUR": Decimal("12.50"), "GBP": Decimal("11")})
    make_item(acme, code="WEB-H", name="Web design")
    old = make_item(acme, code="WEB-OLD", name="Web maintenance (old)")
    with acme.ctx():
        set_archived(old, True)
        found = suggest(acme.org, "web-h", "EUR")
        assert [f["code"] for f in found] == ["WEB-H"]
        found = suggest(acme.org, "web", "GBP")
        assert [f["code"] for f in found] == ["WEB-H", "HOST"]  # names starting with the text before others
        assert [f["unit_price"] for f in found] == [None, "11"]  # no GBP price for web design
        assert suggest(acme.org, "maintenance", "EUR") == []  # archived: not suggested


def test_lookup_answers_members_only_and_never_shows_another_organizations_items(acme):
    make_item(acme, code="WEB-H", name="Web design")
    other, owner = make_org()
    with tenant_context(other, owner):
        save_item(other, None, {"code": "WEB-X", "name": "Web foreign", "description": "", "unit": "",
                                "tax_rate": None}, {"EUR": Decimal("1")})
    response = acme.client(acme.viewer).get(acme.url("item_lookup"), {"q": "web", "currency": "EUR"})
    assert response.status_code == 200
    assert [r["code"] for r in response.json()["results"]] == ["WEB-H"]
    assert response.json()["results"][0]["unit_price"] == "95"
    outsider = acme.client(owner).get(acme.url("item_lookup"), {"q": "web"})
    assert outsider.status_code == 404


def test_the_item_page_adds_an_item_with_a_price(acme):
    client = acme.client(acme.finance)
    response = client.post(acme.url("item_create"), item_post())
    assert response.status_code == 302
    with acme.ctx():
        item = Item.objects.get(code="SUP-1")
        assert item.prices.get().unit_price == Decimal("49.90")
    assert "SUP-1" in client.get(acme.url("item_list")).content.decode()


@pytest.mark.parametrize("extra, message", [
    ({"price_EUR": "49.999"}, "EUR has 2 decimals; this price has more."),
    ({"price_EUR": "-5"}, "A price cannot be negative."),
    ({"code": "BAD CODE"}, "Use letters, digits and - _ . / only."),
    ({"name": ""}, "This field is required."),
])
def test_the_item_page_refuses_bad_input_with_a_message_and_saves_nothing(acme, extra, message):
    response = acme.client(acme.finance).post(acme.url("item_create"), item_post(**extra))
    assert response.status_code == 200
    assert message in response.content.decode()
    with acme.ctx():
        assert not Item.objects.exists() and not ItemPrice.objects.exists()


def test_a_yen_customer_gives_the_form_a_yen_price_with_no_decimals(acme):
    with acme.ctx():
        CustomerFactory(organization=acme.org, currency="JPY")
    page = acme.client(acme.finance).get(acme.url("item_create")).content.decode()
    assert 'name="price_JPY"' in page and "Up to 0 decimals" in page
    response = acme.client(acme.finance).post(acme.url("item_create"), item_post(price_JPY="100.5"))
    assert "JPY has 0 decimals" in response.content.decode()


def test_a_duplicate_code_on_the_page_names_the_code(acme):
    make_item(acme, code="SUP-1")
    response = acme.client(acme.finance).post(acme.url("item_create"), item_post(code="sup-1"))
    assert "Another item has the code SUP-1." in response.content.decode()


def test_a_line_filled_from_an_item_keeps_its_copy_when_the_item_changes_or_is_archived(acme):
    item = make_item(acme)
    data = form_data(acme, [("Web design", "3", "95.00", "0", "")])
    data["lines-0-item"] = str(item.pk)
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        line = InvoiceLine.objects.get()
        assert line.item_id == item.pk and line.unit_price == Decimal("95.00")
        save_item(acme.org, item, {"code": "WEB-H", "name": "Web design v2", "description": "", "unit": "day",
                                   "tax_rate": None}, {"EUR": Decimal("700")})
        set_archived(item, True)
        line.refresh_from_db()
        assert (line.description, line.unit_price, line.item_id) == ("Web design", Decimal("95.0000"), item.pk)
        invoice = line.invoice
    # The archived item stays on the draft when it is edited again.
    page = acme.client(acme.finance).get(acme.url("invoice_edit", pk=invoice.pk)).content.decode()
    assert f'name="lines-0-item" id="id_lines-0-item" class="line-item" value="{item.pk}"' in page


def test_another_organizations_item_id_is_not_linked(acme):
    other, owner = make_org()
    with tenant_context(other, owner):
        foreign = save_item(other, None, {"code": "X", "name": "X", "description": "", "unit": "",
                                          "tax_rate": None}, {})
    data = form_data(acme, [("Web design", "1", "95.00", "0", "")])
    data["lines-0-item"] = str(foreign.pk)
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        assert InvoiceLine.objects.get().item_id is None
        assert Invoice.objects.count() == 1


def test_a_viewer_cannot_add_or_archive_items(acme):
    item = make_item(acme)
    client = acme.client(acme.viewer)
    assert client.post(acme.url("item_create"), item_post()).status_code == 403
    assert client.post(acme.url("item_archive", pk=item.pk), {"archive": "1"}).status_code == 403
    with acme.ctx():
        item.refresh_from_db()
        assert not item.is_archived and Item.objects.count() == 1
