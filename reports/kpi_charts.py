"""Server-rendered SVG line chart for day figures (DSO trend): one polyline per formula, a dot
with a <title> per point, gaps where a figure cannot be computed. No inline styles: the series
carry CSS classes (static/css/app.css, block "issue 20")."""

from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.safestring import mark_safe

from reports.charts import nice_ceiling


def line_chart(labels: list[str], series: list[tuple[str, str, list[Decimal | None]]], *, title: str,
               unit: str = "d", width: int = 640, height: int = 220) -> str:
    left, right, top, bottom = 44, 8, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, _c, vals in series for v in vals if v is not None]
    ceiling = nice_ceiling(max(values + [Decimal(0)]))
    n = max(len(labels), 1)
    slot = plot_w / n
    out = [f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = top + plot_h - int(plot_h * fraction)
        out.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{width - right}" y2="{y}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{(ceiling * fraction).normalize():f}'
                   f'{escape(unit)}</text>')
    for i, label in enumerate(labels):
        out.append(f'<text x="{int(left + slot * i + slot / 2)}" y="{height - bottom + 16}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    for name, css, vals in series:
        points = []
        for i, v in enumerate(vals):
            if v is None:
                if len(points) > 1:
                    out.append(f'<polyline class="series {escape(css)}" points="{" ".join(points)}"/>')
                points = []
                continue
            x = int(left + slot * i + slot / 2)
            y = top + plot_h - int(plot_h * max(v, Decimal(0)) / ceiling)
            points.append(f"{x},{y}")
            out.append(f'<circle class="dot {escape(css)}" cx="{x}" cy="{y}" r="3"><title>{escape(labels[i])} · '
                       f'{escape(name)}: {v}{escape(unit)}</title></circle>')
        if len(points) > 1:
            out.append(f'<polyline class="series {escape(css)}" points="{" ".join(points)}"/>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - numbers and escaped text only
