"""Issue 17 item 6, the interface: every message of the catalogs is translated in every supported language
(staff pages included, not only what the customer sees), and no user-visible template text is left outside
{% translate %} / {% blocktranslate %}. Both checks read the files only (no database)."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "ledger_site" / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]

# Template text that is not language: the product's name, file formats, units and protocol examples.
NOT_LANGUAGE = {
    "Ledgerline", "· Ledgerline", "CSV", "XLSX", "PDF", "OFX", "CAMT.053", "HTTP", "ms", "Excel",
    "Authorization: Bearer …", "Ledgerline-Signature: t=…,v1=…", "INV-2026-00012   1,250.00",
}
# Blocks whose content is a CSS class list, not text (e.g. {% block bodyclass %}public public-doc{% endblock %}).
CLASS_BLOCK = re.compile(r"\{%\s*block\s+\w*class\w*\s*%\}.*?\{%\s*endblock\s*%\}", re.S)
TRANSLATED_BLOCK = re.compile(r"\{%\s*blocktrans(?:late)?\b.*?%\}.*?\{%\s*endblocktrans(?:late)?\s*%\}", re.S)
NOT_SHOWN = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->"
                       r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{#.*?#\}", re.S)
TEMPLATE_CODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
VISIBLE_ATTRIBUTE = re.compile(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"')
WORD = re.compile(r"[^\W\d_]{2,}")


def untranslated_template_text(source: str) -> list[str]:
    """The user-visible words of a template that no translate tag covers."""
    source = NOT_SHOWN.sub(" ", source)
    source = TRANSLATED_BLOCK.sub(" ", CLASS_BLOCK.sub(" ", source))
    found = []
    for value in VISIBLE_ATTRIBUTE.findall(source):
        text = TEMPLATE_CODE.sub(" ", value).strip()
        if WORD.search(text) and text not in NOT_LANGUAGE:
            found.append(text)
    # Template code first (a '>' inside {% if a > 0 %} is not the end of an HTML tag), then the HTML tags.
    body = re.sub(r"<[^>]*>", "\n", TEMPLATE_CODE.sub("\n", source))
    for line in body.splitlines():
        text = line.strip()
        if WORD.search(text) and text not in NOT_LANGUAGE:
            found.append(text)
    return found


def test_the_scanner_finds_unmarked_text_and_passes_marked_text():
    # The scanner is the guard: it must see what it is meant to see.
    assert untranslated_template_text("<p>Open invoices</p>") == ["Open invoices"]
    assert untranslated_template_text('<td title="{{ n }} days in all">{{ n }}</td>') == ["days in all"]
    assert untranslated_template_text('<p>{% translate "Open invoices" %}</p>'
                                      "{% blocktranslate with n=x %}{{ n }} days{% endblocktranslate %}"
                                      '<span class="{% if a > 0 %}neg{% endif %}">{{ a }}</span>'
                                      "{# a note #}<p>PDF</p><p>Ledgerline</p>") == []


def test_no_user_visible_template_text_is_left_unmarked():
    unmarked = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        found = untranslated_template_text(path.read_text(encoding="utf-8"))
        if found:
            unmarked[str(path.relative_to(ROOT))] = found
    assert unmarked == {}, "wrap these in {% translate %} / {% blocktranslate %} and run makemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_catalog_is_translated(language):
    assert set(LANGUAGES) >= {"de", "fr", "es", "hi"}
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as f:
        catalog = read_po(f, locale=language)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 2500  # the staff pages are in it, not only the customer-facing part
    untranslated = [m.id for m in messages
                    if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert untranslated == [], f"{len(untranslated)} messages untranslated or fuzzy in {language}"


def test_hindi_is_written_in_devanagari():
    with (LOCALE / "hi" / "LC_MESSAGES" / "django.po").open("rb") as f:
        catalog = read_po(f, locale="hi")
    texts = [m.string if isinstance(m.string, str) else " ".join(m.string) for m in catalog if m.id]
    devanagari = [t for t in texts if re.search(r"[\u0900-\u097F]", t)]
    assert len(devanagari) / len(texts) > 0.9
