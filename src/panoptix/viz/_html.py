"""Self-contained HTML pages: inline CSS, a small inline table sorter, no network resources."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Sequence

import numpy as np
from PIL import Image

__all__ = ["page", "table", "esc", "png_bytes", "data_uri", "fmt", "thumbnail", "swatch"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1280px;
     color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px} h2{font-size:1.25em;margin-top:32px;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9em} .meta code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:90px}
.card .v{font-size:1.35em;font-weight:600} .card .k{color:#666;font-size:.8em}
table.sortable{border-collapse:collapse;font-size:.9em;margin:8px 0}
table.sortable th,table.sortable td{border-bottom:1px solid #eee;padding:3px 10px;text-align:left}
table.sortable td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
.swatch{display:inline-block;width:.9em;height:.9em;border:1px solid #888;vertical-align:middle;margin-right:6px}
.plots img,.gallery img{max-width:100%;height:auto;border:1px solid #ddd}
.plots figure,.gallery figure{margin:12px 0}
figcaption{color:#555;font-size:.9em;margin:4px 0}
.sheet{display:flex;flex-wrap:wrap;gap:10px} .sheet figure{margin:0;width:360px}
.sheet img{width:100%;height:auto;border:1px solid #ddd}
.note{color:#666;font-style:italic}
"""

# Click a header to sort by it (numbers numerically, empty cells last); click again to reverse.
SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function(o){ o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(r){ var c = r.cells[col]; var v = c.getAttribute('data-v');
        return v === null ? c.textContent.trim() : v; }
      rows.sort(function(a, b){
        var x = key(a), y = key(b);
        if (x === '' && y === '') return 0; if (x === '') return 1; if (y === '') return -1;
        var nx = parseFloat(x), ny = parseFloat(y);
        var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? cmp : -cmp;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
"""


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def fmt(value, *, percent: bool = False, digits: int = 1) -> str:
    """A number for a table cell: percentages for fractions, '–' for missing."""
    if value is None:
        return "–"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(f):
        return "–"
    if percent:
        return "–" if f < 0 else f"{100 * f:.{digits}f}"
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:.{digits + 2}g}" if abs(f) < 1 else f"{f:,.{digits}f}"


def _sort_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        f = float(value)
        return "" if math.isnan(f) else repr(f)
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence], *, html_cells: Sequence[Sequence[str]] | None = None,
          table_id: str = "", numeric: Sequence[bool] | None = None) -> str:
    """A sortable table. ``rows`` hold raw values (sort keys); ``html_cells`` the shown HTML
    (escaped values when not given)."""
    numeric = numeric or [isinstance(r, (int, float, np.integer, np.floating)) and not isinstance(r, bool)
                          for r in (rows[0] if rows else [])]
    id_attr = f' id="{esc(table_id)}"' if table_id else ""
    out = [f'<table class="sortable"{id_attr}><thead><tr>']
    out += [f"<th>{esc(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, v in enumerate(row):
            shown = html_cells[i][j] if html_cells is not None else esc("–" if v is None else v)
            cls = ' class="num"' if j < len(numeric) and numeric[j] else ""
            out.append(f'<td{cls} data-v="{esc(_sort_value(v))}">{shown}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def page(title: str, body: str) -> str:
    """A whole HTML document with the inline CSS and the table sorter."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<script>{SORT_JS}</script>\n</body></html>\n")


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """Shrink to ``width`` pixels wide (never enlarge)."""
    image = np.asarray(image, np.uint8)
    h, w = image.shape[:2]
    if w <= width:
        return image
    size = (int(width), max(1, round(h * width / w)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def swatch(color) -> str:
    r, g, b = (int(c) for c in color[:3])
    return f'<span class="swatch" style="background:rgb({r},{g},{b})"></span>'
