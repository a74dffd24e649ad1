"""The pipeline health report as a reader opens it: headless Chromium, offline, every figure drawn, no error.

Needs Debian's ``chromium`` package (the ``headless`` fixture of ``conftest.py``); ``make test`` installs it
(``make browser``) when run as root. Elsewhere the test skips and says how to install it; on CI (``CI`` set) a
missing browser fails the test instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from salesmetrics.reports import runner as reports

pytestmark = [pytest.mark.notebook, pytest.mark.slow]  # a report in a kernel, then Chromium

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"

# Runs after the page has loaded; writes what it found into the page, which --dump-dom then prints.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const drawn = images.filter((img) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0);
  let inked = 0;  // images with more than one colour: a real plot, not a blank box
  for (const img of drawn) {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length && colours.size < 3; i += 4 * 97) {
      colours.add(px[i] + "," + px[i + 1] + "," + px[i + 2]);
    }
    if (colours.size > 1) inked += 1;
  }
  const text = document.body.innerText;
  const result = {
    title: document.title,
    images: images.length,
    drawn: drawn.length,
    inked: inked,
    visible: drawn.filter((img) => img.getBoundingClientRect().width > 100).length,
    errors: document.querySelectorAll(".output_error, .output_stderr").length,
    tracebacks: (text.match(/Traceback|Error:/g) || []).length,
    tables: document.querySelectorAll("table.dataframe").length,
    headings: [...document.querySelectorAll("h1, h2")].map((h) => h.innerText.trim()),
    alts: images.map((img) => img.alt),
  };
  const out = document.createElement("pre");
  out.id = "salesmetrics-probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, headless) -> Path:  # headless first: skip before spending time on the report
    out = tmp_path_factory.mktemp("reports")
    (page,) = reports.run_report("pipeline_health", log=DEMO, out=out)  # what `make report` writes
    return page


def test_report_opens_offline_with_figures_and_no_error(demo_report, headless, tmp_path):
    page = demo_report
    html = page.read_text(encoding="utf-8")
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # nothing to fetch
    assert "<script" not in html
    probe = tmp_path / "probe.html"  # the report plus a script that reports what the browser drew
    probe.write_text(html.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    done = headless(tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="salesmetrics-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"the page did not finish loading in Chromium (exit {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(found[1])
    assert result["title"] == "Pipeline health: motion vs movement"
    assert result["images"] == 3  # motion vs movement, over time, waterfall
    assert result["drawn"] == result["inked"] == result["visible"] == 3
    assert result["errors"] == 0 and result["tracebacks"] == 0
    assert result["tables"] >= 3
    assert result["headings"][:2] == ["Pipeline health: motion vs movement", "Motion vs movement"]
    assert result["alts"] == ["Figure: Motion vs movement", "Figure: Over time", "Figure: Pipeline waterfall"]


def test_report_screenshot_is_not_blank(demo_report, headless, tmp_path):
    shot = tmp_path / "top.png"
    done = headless(
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1200,1600",
        f"--screenshot={shot}",
        demo_report.as_uri(),
    )
    assert shot.exists(), done.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])  # text and plot lines on a white page
    assert 0.005 < dark / (1200 * 1600) < 0.5
