"""The HTML pages of reports: one self-contained page per executed notebook, and the index of a batch.

A report page embeds its figures as data and its styles inline, holds no script and fetches nothing from the
network, so it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics.reports.catalog import notebook_title

_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 2.2rem 2rem 1rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.8em 0 .5em; font-weight: 650; }
h1 { font-size: 2rem; margin-top: 0; padding-bottom: .35em; border-bottom: 2px solid var(--ink); }
h2 { font-size: 1.45rem; padding-bottom: .25em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; }
p, ul, ol { margin: .5em 0 .9em; max-width: 52rem; }
a { color: var(--accent); }
code { font: .88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: .05em .3em; }
pre { font: .85em/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .7em .9em;
  overflow-x: auto; margin: .6em 0; }
pre code { background: none; border: 0; padding: 0; font-size: 1em; }
img { max-width: 100%; height: auto; display: block; margin: .8em 0 1.2em; }
.output_png, .output_jpeg, .output_svg { overflow-x: auto; }
.output_subarea { overflow-x: auto; }
table.dataframe { border-collapse: collapse; margin: .6em 0 1.4em; font-size: .86rem;
  font-variant-numeric: tabular-nums; border: 0; }
table.dataframe th, table.dataframe td { padding: .25em .7em; border: 0; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
table.dataframe thead th { border-bottom: 2px solid var(--ink); font-weight: 600; vertical-align: bottom; }
table.dataframe tbody th { color: var(--muted); font-weight: 400; }
table.dataframe .text { text-align: left; }
.sm-table { overflow-x: auto; max-width: 100%; margin: .6em 0 1.4em; }
.sm-table table.dataframe { margin: 0; }
.sm-table thead th { white-space: normal; min-width: 4.5rem; max-width: 11rem; }
table.dataframe td.wrap { white-space: normal; min-width: 16rem; max-width: 34rem; }
table.dataframe tbody tr:nth-child(even) { background: var(--soft); }
table.dataframe tbody tr:hover { background: #eef4fb; }
.output_stderr pre, .output_error pre { background: #fff5f5; border-color: #f1c4c4; }
.input { margin: 1em 0 .3em; }
.input pre { background: #f8f9fb; }
.report-meta { color: var(--muted); font-size: .85rem; }
header.report-meta { margin-bottom: 1.2rem; }
footer.report-meta { max-width: 1080px; margin: 2.5rem auto 2rem; padding: .8rem 2rem 0;
  border-top: 1px solid var(--line); }
@media print { main { max-width: none; padding: 0; } table.dataframe tbody tr:hover { background: none; } }
"""


_NUMERIC = re.compile(
    r"^\s*(?:[-+\u2212]?[$\u20ac\u00a3]?\s*[\d.,]+(?:e[-+]?\d+)?\s*%?|nan|NaN|None|<NA>|NaT|-?inf)?\s*$"
)
_CELL = re.compile(r"<(t[hd])\b([^>]*)>(.*?)</\1>", re.DOTALL)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.DOTALL)


def _align_table(table: str) -> str:
    """Left-align the text columns of a pandas table (numbers stay right-aligned, as pandas has them)."""
    head, sep, body = table.partition("<tbody>")
    if not sep:
        return table
    rows = [_CELL.findall(r) for r in _ROW.findall(body)]
    if not rows or len({len(r) for r in rows}) != 1:
        return table
    text_cols = {
        i
        for i in range(len(rows[0]))
        if all(r[i][0] == "td" for r in rows)
        and not all(_NUMERIC.match(html.unescape(re.sub(r"<[^>]+>", "", r[i][2]))) for r in rows)
    }
    if not text_cols:
        return table

    def mark(row_html: str) -> str:
        cells = iter(range(10**6))

        def one(m):
            i = next(cells)
            return f'<{m[1]} class="text"{m[2]}>{m[3]}</{m[1]}>' if i in text_cols else m[0]

        return _CELL.sub(one, row_html)

    body = _ROW.sub(lambda m: mark(m[0]), body)
    header_rows = list(_ROW.finditer(head))
    if header_rows and len(_CELL.findall(header_rows[-1][1])) == len(rows[0]):
        last = header_rows[-1]
        head = head[: last.start()] + mark(last[0]) + head[last.end() :]
    return head + sep + body


_HEADING_OR_IMG = re.compile(r"<h([1-3])\b[^>]*>(.*?)</h\1>|<img\b[^>]*>", re.DOTALL)
_NO_ALT = 'alt="No description has been provided for this image"'


def _describe_figures(body: str) -> str:
    """Give each figure without a description the alt text 'Figure: <its section's heading>'."""
    section = ""

    def one(m):
        nonlocal section
        if m[1]:
            section = html.unescape(re.sub(r"<[^>]+>", "", m[2])).strip()
            return m[0]
        alt = f'alt="{html.escape("Figure: " + section if section else "Figure")}"'
        return m[0].replace(_NO_ALT, alt)

    return _HEADING_OR_IMG.sub(one, body)


def render_html(
    notebook_path,
    *,
    show_code: bool = False,
    title: str | None = None,
    footer: str | None = None,
    made_from: str | None = None,
) -> str:
    """One self-contained HTML page: figures embedded as data, styles inline, no script, nothing fetched.

    ``notebook_path`` is an executed notebook's file, or the notebook itself (an nbformat node).
    ``title`` is the page title (default: the notebook's first heading), ``footer`` a line of text shown
    under the report, and ``made_from`` a digest of the report's parameters and log, kept in a ``<meta>`` tag
    (the runner compares it to decide whether a finished report can be kept).
    """
    import nbformat
    from nbconvert import HTMLExporter

    if isinstance(notebook_path, str | os.PathLike):
        nb = nbformat.read(notebook_path, as_version=4)
    else:
        nb, notebook_path = notebook_path, Path("report.ipynb")
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nb)
    # reports are static pages: drop every script (nbconvert's mermaid loader imports from a CDN)
    body = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", body, flags=re.DOTALL | re.IGNORECASE)
    body = re.sub(r"<script\b[^>]*/>", "", body, flags=re.IGNORECASE)
    body = re.sub(r'<table\b[^>]*class="dataframe".*?</table>', lambda m: _align_table(m[0]), body, flags=re.DOTALL)
    body = re.sub(r'<a class="anchor-link" href="#[^"]*">\u00b6</a>', "", body)
    body = _describe_figures(body)
    css = _CSS
    if show_code:
        from pygments.formatters import HtmlFormatter

        css += HtmlFormatter(style="default").get_style_defs(".highlight")
    title = title or notebook_title(nb, Path(notebook_path))
    meta_tag = f'<meta name="salesmetrics-made-from" content="{html.escape(made_from)}">\n' if made_from else ""
    foot = f'<footer class="report-meta">{html.escape(footer)}</footer>\n' if footer else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{meta_tag}<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n"
        f'<body>\n<main class="report">\n{body}\n</main>\n{foot}</body>\n</html>\n'
    )


_INDEX_CSS = (
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;color:#1f2328;"
    "max-width:50rem;margin:2.5rem auto;padding:0 1.5rem}h1{font-size:1.7rem;border-bottom:2px solid #1f2328;"
    "padding-bottom:.3em}ul{columns:2 16rem;padding-left:1.2em;margin-top:0}li{margin:0 0 .45em;break-inside:avoid}"
    "a{color:#0b5cad}"
    ".meta{color:#59636e;font-size:.9rem}.failed{color:#a40e26}"
)


def write_index(
    out: Path, entries: list[tuple[str, Path]], title: str, failed: dict[str, str] | None = None, note: str = ""
) -> Path:
    """An ``index.html`` linking the reports of a batch run (and naming those that failed); ``note`` is a line
    of text under the title."""
    items = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(label)}</a></li>' for label, p in sorted(entries)
    )
    gone = ""
    if failed:
        rows = "\n".join(f"<li>{html.escape(g)}: {html.escape(msg)}</li>" for g, msg in sorted(failed.items()))
        gone = f"<h2>Not made</h2><ul class='failed'>\n{rows}\n</ul>"
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_INDEX_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(note or f'{len(entries)} reports')}</p>"
        f"<ul>\n{items}\n</ul>{gone}"
        "</body></html>\n"
    )
    target = Path(out) / "index.html"
    write_text_atomic(target, page)
    return target
