"""Server-side SVG bar charts: readable without JavaScript, printable, accessible.

Amounts stay Decimal; only pixel positions are integers. Every bar carries a <title> (the
exact amount, shown as a tooltip) and every chart is accompanied by its data as a table in
the template, for screen readers and for copying.
"""

from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.safestring import mark_safe

from accounts.money import MINUS, format_money


@dataclass
class Bar:
    label: str
    value: Decimal
    css: str = ""
    ghost: Decimal | None = None  # a comparison value drawn as a light bar behind (e.g. last year)
    href: str = ""


def compact(value: Decimal) -> str:
    """12,345.67 → 12.3k; 2,500,000 → 2.5M; −1,200 → −1.2k (axis and bar labels)."""
    sign = MINUS if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if value >= limit:
            scaled = (value / limit).quantize(Decimal("0.1"))
            text = f"{scaled.normalize():f}"
            return f"{sign}{text}{suffix}"
    return f"{sign}{value.quantize(Decimal(1)):f}"


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above value (a round top for the axis)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for mantissa in (1, 2, Decimal("2.5"), 5, 10):
        top = Decimal(mantissa) * Decimal(10) ** exponent
        if top >= value:
            return top
    return Decimal(10) ** (exponent + 1)


def bar_chart(bars: list[Bar], currency: str, *, title: str, width: int = 640, height: int = 240) -> str:
    left, right, top, bottom = 56, 8, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([b.value for b in bars] + [b.ghost or Decimal(0) for b in bars] + [Decimal(0)])
    ceiling = nice_ceiling(peak)
    n = max(len(bars), 1)
    slot = plot_w / n
    bar_w = max(6, min(56, int(slot * 0.62)))
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="group" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = top + plot_h - int(plot_h * fraction)
        out.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{width - right}" y2="{y}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(compact(ceiling * fraction))}</text>')
    for i, bar in enumerate(bars):
        x = int(left + slot * i + (slot - bar_w) / 2)
        if bar.ghost:
            gh = int(plot_h * max(bar.ghost, Decimal(0)) / ceiling)
            out.append(f'<rect class="bar prev" x="{x + bar_w // 4}" y="{top + plot_h - gh}" width="{bar_w}" '
                       f'height="{gh}"><title>{escape(bar.label)}: {escape(format_money(bar.ghost, currency))}'
                       f'</title></rect>')
        h = int(plot_h * max(bar.value, Decimal(0)) / ceiling)
        y = top + plot_h - h
        h = max(h, 1 if bar.value else 0)
        rect = (f'<rect class="bar {escape(bar.css)}" x="{x}" y="{y}" width="{bar_w}" height="{h}">'
                f'<title>{escape(bar.label)}: {escape(format_money(bar.value, currency))}</title></rect>')
        if bar.href:
            rect = f'<a href="{escape(bar.href)}">{rect}</a>'
        out.append(rect)
        if bar.value:
            out.append(f'<text class="value" x="{x + bar_w // 2}" y="{y - 5}" text-anchor="middle">'
                       f'{escape(compact(bar.value))}</text>')
        out.append(f'<text x="{x + bar_w // 2}" y="{height - bottom + 16}" text-anchor="middle">'
                   f'{escape(bar.label)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


def sparkline(values: list[Decimal | None], *, width: int = 96, height: int = 22, title: str = "") -> str:
    """A small line of (e.g.) average days late per month; None = no data that month."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    out = [f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    if points:
        low = min(Decimal(0), *[v for _, v in points])
        high = max(Decimal(1), *[v for _, v in points])
        span = high - low or Decimal(1)
        step = (width - 4) / max(len(values) - 1, 1)
        zero_y = int(height - 2 - (height - 4) * (Decimal(0) - low) / span)
        out.append(f'<line x1="2" y1="{zero_y}" x2="{width - 2}" y2="{zero_y}"/>')
        coords = " ".join(f"{int(2 + step * i)},{int(height - 2 - (height - 4) * (v - low) / span)}" for i, v in points)
        out.append(f'<polyline points="{coords}"/>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - numbers and escaped text only
