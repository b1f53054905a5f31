"""Template filters of the reports."""

import re

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def css_string(value) -> str:
    """Text for a CSS string literal ("..."): backslashes, quotes and line breaks escaped the CSS
    way (\\22, \\5c, \\3c), so a name can neither end the string nor close the <style> element; HTML
    escaping would be wrong here (entities are not decoded inside <style>)."""
    text = re.sub(r"[\r\n\f]+", " ", str(value))
    return mark_safe(text.replace("\\", "\\5c ").replace('"', "\\22 ").replace("<", "\\3c "))  # noqa: S308
