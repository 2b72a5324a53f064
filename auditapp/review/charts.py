"""Small charts drawn on the server as SVG: no JavaScript, allowed by the strict CSP, sharp in print.

Colours only ever accompany numbers written on the chart and a legend, so a grey printout or a
colour-blind reader loses nothing. Every label is escaped: area names are typed by users.
"""

from __future__ import annotations

from markupsafe import Markup, escape

# Dark-to-light so grey printing keeps the order; matches the grade badges of the app.
GRADE_COLOURS = {"major_nc": "#9b1c1c", "minor_nc": "#d97706", "observation": "#2563eb", "ofi": "#059669"}
BAR_COLOUR = "#1f4e79"
# Drawn small so that, scaled to a 360 px phone, the text still reads at about 11 px.
FONT = 'font-family="sans-serif" font-size="13"'


def _nice_max(value: int) -> int:
    """A round top for the axis: 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= step * m:
                return step * m
        step *= 10


def stacked_columns(
    title: str,
    columns: list[tuple[str, dict[str, int]]],
    keys: dict[str, str],
    colours: dict[str, str] = GRADE_COLOURS,
    width: int = 480,
    height: int = 240,
) -> Markup:
    """Columns (e.g. months), each a stack of keys (e.g. grades), with totals on top and a legend."""
    left, bottom, top, right = 30, 58, 18, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values.get(k, 0) for k in keys) for _, values in columns]
    top_value = _nice_max(max(totals, default=0) or 1)
    slot = plot_w / max(len(columns), 1)
    bar_w = max(min(slot * 0.7, 48), 2)
    parts = [_svg_open(title, width, height), _axis(left, top, plot_w, plot_h, top_value)]
    for i, ((label, values), total) in enumerate(zip(columns, totals, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        y: float = top + plot_h
        for key in keys:
            value = values.get(key, 0)
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colours.get(key, BAR_COLOUR)}"><title>{escape(label.replace(chr(10), " "))}: {value} '
                f"{escape(keys[key])}</title></rect>"
            )
        if total:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" {FONT}>{total}</text>')
        # A label may have a second line (e.g. the year under January).
        lines = "".join(
            f'<tspan x="{x + bar_w / 2:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
            for n, line in enumerate(label.split("\n"))
        )
        parts.append(f'<text y="{top + plot_h + 16}" text-anchor="middle" {FONT}>{lines}</text>')
    parts.append(_legend(keys, colours, left, height - 10))
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(
    title: str,
    bars: list[tuple[str, int]],
    colour: str = BAR_COLOUR,
    width: int = 420,
    row: int = 24,
    label_width: int = 140,
) -> Markup:
    """One bar per label (e.g. clause or ageing bucket) with its value written at the end."""
    height = max(len(bars), 1) * row + 12
    top_value = _nice_max(max((v for _, v in bars), default=0) or 1)
    plot_w = width - label_width - 40
    parts = [_svg_open(title, width, height)]
    if not bars:
        parts.append(f'<text x="0" y="16" {FONT}>Nothing to show for this period.</text>')
    for i, (label, value) in enumerate(bars):
        y = 6 + i * row
        w = plot_w * value / top_value
        parts.append(
            f'<text x="{label_width - 6}" y="{y + row / 2 + 3:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{colour}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        parts.append(f'<text x="{label_width + w + 4:.1f}" y="{y + row / 2 + 3:.1f}" {FONT}>{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(title: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _axis(left: int, top: int, plot_w: float, plot_h: float, top_value: int) -> str:
    lines = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        value = top_value * fraction
        label = f"{value:g}"
        lines.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        lines.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{label}</text>')
    return "".join(lines)


def _legend(keys: dict[str, str], colours: dict[str, str], x: int, y: int) -> str:
    parts = []
    for key, label in keys.items():
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colours.get(key, BAR_COLOUR)}"/>'
            f'<text x="{x + 14}" y="{y}" {FONT}>{escape(label)}</text>'
        )
        x += 22 + 8 * len(label)
    return "".join(parts)
