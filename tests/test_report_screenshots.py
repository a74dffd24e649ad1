"""Every report as a reader sees it, on the demo log and on two real logs: headless Chromium screenshots.

Each report is rendered on the demo log and on the Maven and Olist snapshots (converted by the snapshot
adapter), then checked as a person would look at it: every figure is a real image (decoded, more than one
colour), no table cell reads ``NaN``, ``None`` or ``NaT``, no header is a snake_case column name, no cell shows a
``+00:00`` offset, nothing went to stderr, and the page opens in headless Chromium (Debian's ``chromium``; the
``headless`` fixture skips without it) into a screenshot that is not blank. Slow: every report runs three times.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest

import salesmetrics as sm
from salesmetrics.reports.runner import run_report

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
NAMES = [p.stem for p in sorted((REPO / "salesmetrics" / "reports" / "notebooks").glob("*.ipynb"))]
LOGS = ("demo", "maven", "olist")
FAST = {"close_likelihood_study": {"n_bootstrap": 0, "n_repeats": 1}}  # the study's intervals are not looked at

IMAGE = re.compile(r'src="data:image/png;base64,([^"]+)"')
CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t\1>", re.DOTALL)
SNAKE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$")
EMPTY_WORDS = {"NaN", "nan", "None", "NaT", "<NA>", "inf"}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("screens")
    cache: dict[str, Path] = {"demo": REPO / "datasets" / "demo"}

    def get(where: str) -> Path:
        if where not in cache:
            if not SHARED_DATASETS.is_dir():
                pytest.skip(f"the real datasets are not beside the repository ({SHARED_DATASETS})")
            if where == "maven":
                source = SHARED_DATASETS / "maven_crm_sales"
            else:
                folder = SHARED_DATASETS / "olist_marketing_funnel"
                source = [
                    folder / "olist_marketing_qualified_leads_dataset.csv",
                    folder / "olist_closed_deals_dataset.csv",
                ]
            sm.import_snapshot(source, preset=where, out=root / where)
            cache[where] = root / where
        return cache[where]

    return get


def page_problems(page: str) -> list[str]:
    """What a reader would object to on the page, as sentences (empty when it reads well)."""
    from PIL import Image

    problems = []
    images = IMAGE.findall(page)
    if not images:
        problems.append("no figure on the page")
    for i, data in enumerate(images, start=1):
        picture = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        colours = picture.getcolors(maxcolors=1 << 16)
        if colours is not None and len(colours) < 2:
            problems.append(f"figure {i} is blank")
    for kind, raw in CELL.findall(page):
        text = re.sub(r"<[^>]+>", "", raw).strip()
        if kind == "h" and SNAKE.match(text):
            problems.append(f"snake_case header {text!r}")
        if kind == "d" and text in EMPTY_WORDS:
            problems.append(f"a cell reads {text!r}")
        if "+00:00" in text:
            problems.append(f"a cell shows a time zone offset: {text!r}")
    footer = re.search(r'<footer class="report-meta">(.*?)</footer>', page, re.S)
    if footer and re.search(r"\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}", footer.group(1)):
        problems.append(f"the footer shows a raw ISO time: {footer.group(1)!r}")
    if "Traceback" in page or re.search(r'class="[^"]*output_(?:stderr|error)', page):
        problems.append("error output on the page")
    return problems


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("where", LOGS)
@pytest.mark.parametrize("name", NAMES)
def test_every_report_reads_well_in_a_browser(name, where, logs, headless, tmp_path):
    from PIL import Image

    files = run_report(name, log=logs(where), out=tmp_path / "out", parameters=FAST.get(name, {}), overwrite=True)
    page_file = next(p for p in files if p.suffix == ".html")
    assert page_problems(page_file.read_text(encoding="utf-8")) == [], f"{name} on {where}"
    shot = tmp_path / f"{name}-{where}.png"
    headless(tmp_path / "profile", "--hide-scrollbars", "--window-size=1200,1800", f"--screenshot={shot}",
             page_file.as_uri())  # fmt: skip
    picture = Image.open(shot).convert("RGB")
    assert picture.size == (1200, 1800)
    assert len(picture.getcolors(maxcolors=1 << 20) or range(1000)) > 50, f"{name} on {where}: a blank page"


def test_the_checks_catch_what_a_reader_would_object_to():
    """The page checks above fail on the pages this issue was about (raw DataFrames, NaN, no figure)."""
    raw = "<table><tr><th>motion_per_movement</th></tr><tr><td>NaN</td><td>2024-01-02 00:00:00+00:00</td></tr></table>"
    found = page_problems(raw)
    assert "no figure on the page" in found and "snake_case header 'motion_per_movement'" in found
    assert "a cell reads 'NaN'" in found and any("offset" in p for p in found)
    footer = '<footer class="report-meta">with as_of=2025-06-30T17:05:09.123456+00:00.</footer>'
    assert any("footer" in p for p in page_problems(raw + footer))
    assert not any("footer" in p for p in page_problems(raw + footer.replace("T17:05:09.123456+00:00", " 17:05 UTC")))
