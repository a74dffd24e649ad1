"""Nothing from a log is injected into a report: every report rendered on a log full of hostile names.

Owners, teams, stages, deal ids, an attribute column and the log's name all hold HTML, script, event handlers,
``javascript:`` links, Markdown and broken LaTeX (``$\\undefinedcmd{$``, which fails a figure that reads it as a
formula). Each name carries a canary, ``document.title='PWNED-...'``, that
would run if the name became markup. Every report is rendered once (and one per team, with its index), then
each page is (1) scanned as HTML: no script, frame or handler attribute, no ``javascript:`` URL; and (2) opened
in headless Chromium (skipped where it is not installed, as in ``test_report_browser.py``): the title is the
report's own, and the hostile names are on the page as text.
ADR 0031.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import salesmetrics as sm
from salesmetrics.log.coverage import Note, Opening
from salesmetrics.reports import runner as reports
from salesmetrics.simulation.simulator import simulate


def _canary(kind: str, n: int) -> str:
    return f"document.title='PWNED-{kind}-{n}'"


HOSTILE = [
    '<img src=x onerror="{c}">',
    "<script>{c}</script>",
    "[click](javascript:{c})",
    '<iframe src="javascript:{c}"></iframe>',
    '" onmouseover="{c}" x="',
    '<svg onload="{c}"></svg> $\\undefinedcmd{{$ **b** _i_ `c`',  # not LaTeX: matplotlib would fail on it
]


def hostile(kind: str, n: int) -> str:
    return HOSTILE[n % len(HOSTILE)].format(c=_canary(kind, n))


def hostile_log(out: Path, n_deals: int = 150) -> Path:
    """A small simulated log whose every name is hostile, written as CSV to ``out``."""
    log = simulate(n_deals=n_deals, n_owners=6, seed=3, months=8).log
    m = log.model
    stage = {s: f'{s} <b onmouseover="{_canary("stage", k)}">x</b> $\\evil$' for k, s in enumerate(m.all_stages)}
    model = dataclasses.replace(
        m,
        stages=tuple(stage[s] for s in m.stages),
        won=tuple(stage[s] for s in m.won),
        lost=tuple(stage[s] for s in m.lost),
        commit_stage=stage[m.commit_stage] if m.commit_stage else None,
        name=f'<img src=x onerror="{_canary("log", 0)}"> [log](javascript:{_canary("loglink", 0)})',
    )
    d = log.deals
    owner = {o: f"{hostile('owner', k)} #{k}" for k, o in enumerate(sorted(d["owner"].unique()))}
    team = {t: f"<iframe srcdoc=\"<script>{_canary('team', k)}</script>\"></iframe> {k}" for k, t in
            enumerate(sorted(d["team"].dropna().unique()))}  # fmt: skip
    deal = {x: f'<img src=x onerror="{_canary("deal", k)}">{k}' for k, x in enumerate(d["deal_id"])}
    deals = d.assign(
        deal_id=d["deal_id"].map(deal),
        owner=d["owner"].map(owner),
        team=d["team"].map(team),
        industry=[hostile("attribute", k) for k in range(len(d))],
    )
    changes = log.stage_changes.assign(
        deal_id=log.stage_changes["deal_id"].map(deal), stage=log.stage_changes["stage"].map(stage)
    )
    activities = log.activities.assign(deal_id=log.activities["deal_id"].map(deal))
    close_dates = log.close_date_changes.assign(deal_id=log.close_date_changes["deal_id"].map(deal))
    return sm.write_log(sm.SalesLog.from_frames(model, deals, changes, activities, close_dates), out, format="csv")


class _Scan(HTMLParser):
    """What a page holds that could run: script-like elements, handler attributes, script URLs."""

    RUNNABLE = frozenset(
        {"script", "iframe", "frame", "object", "embed", "svg", "math", "base", "form", "link", "template"}
    )
    URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"})

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.RUNNABLE:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name == "srcdoc":
                self.found.append(f"<{tag} {name}={value[:40]!r}>")
            if name in self.URL_ATTRIBUTES and re.match(r"\s*(?:javascript|vbscript|data:text)", value, re.I):
                self.found.append(f"<{tag} {name}={value[:40]!r}>")
            if tag == "meta" and name == "http-equiv":
                self.found.append(f"<meta http-equiv={value!r}>")

    handle_startendtag = handle_starttag


def runnable(page: str) -> list[str]:
    scan = _Scan()
    scan.feed(page)
    return scan.found


# Runs after the page has loaded (a canary in a name would have run by then): what the reader sees.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const out = document.createElement("pre");
  out.id = "salesmetrics-probe";
  out.textContent = JSON.stringify({title: document.title, text: document.body.innerText});
  document.body.appendChild(out);
}, 200));
</script>"""


QUICK = {"close_likelihood_study": {"n_bootstrap": 10, "n_repeats": 1}}  # the same names shown, in less time


@pytest.fixture(scope="module")  # papermill: about 30 seconds for every report on a 150-deal log
def pages(tmp_path_factory) -> dict[str, Path]:
    """Every report on the hostile log, and the pipeline health report per team with its index."""
    root = tmp_path_factory.mktemp("injection")
    log = hostile_log(root / "log")
    out = {}
    for name in reports.list_reports():
        (out[name],) = reports.run_report(name, log=log, out=root / "reports", parameters=QUICK.get(name))
    batch = reports.run_batch("pipeline_health", log=log, out=root / "teams", for_each="team", progress=False)
    out["index"] = batch[0]
    out.update({f"team {i}": page for i, page in enumerate(batch[1:])})
    return out


@pytest.mark.slow
def test_every_report_is_rendered(pages):
    assert set(reports.list_reports()) <= set(pages) and len(pages) == len(reports.list_reports()) + 3


@pytest.mark.slow
def test_no_report_holds_anything_that_runs(pages):
    for name, page in pages.items():
        text = page.read_text(encoding="utf-8")
        assert runnable(text) == [], f"{name}: {runnable(text)[:5]}"
        assert "PWNED" in text, f"{name}: the hostile names are not on the page at all"


@pytest.mark.slow
def test_no_canary_runs_in_chromium_and_names_show_as_text(pages, headless, tmp_path):
    titles = {name: report.title for name, report in reports.list_reports().items()}
    health = titles["pipeline_health"]
    teams = [f'<iframe srcdoc="<script>{_canary("team", k)}</script>"></iframe> {k}' for k in range(2)]
    titles.update({"index": health, "team 0": f"{health}: {teams[0]}", "team 1": f"{health}: {teams[1]}"})
    for name, page in pages.items():
        probe = tmp_path / f"{page.stem}.html"
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
        done = headless(tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
        found = re.search(r'<pre id="salesmetrics-probe">(.*?)</pre>', done.stdout, re.DOTALL)
        assert found, f"{name} did not finish loading in Chromium (exit {done.returncode}): {done.stderr[-2000:]}"
        seen = json.loads(html.unescape(found[1]))
        # a canary that ran would have set the whole title to PWNED-...
        assert seen["title"] == titles[name], f"{name}: a name ran as script ({seen['title']})"
        assert "PWNED" in seen["text"], f"{name}: no hostile name is shown as text"
        if name not in ("index", "team 0", "team 1"):
            assert '<img src=x onerror="document.title=' in seen["text"]


@pytest.mark.parametrize(
    "value",
    ['<img src=x onerror="alert(1)">', "[x](javascript:alert(1))", "<iframe src=javascript:alert(1)>", "$\\x$ *a*"],
)
def test_opening_and_note_render_names_as_text(value):
    """Fast: the two display objects a report notebook puts names into, through nbconvert's own Markdown."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for shown in (
        Opening(value, "as of 2024-06-30", f"{value} has 3 deals.")._repr_markdown_(),
        Note(f"No deal of {value}.")._repr_markdown_(),
        Opening(value, "as of 2024-06-30", value)._repr_html_(),
        Note(value)._repr_html_(),
    ):
        rendered = shown if shown.startswith("<p>") else markdown2html_mistune(shown)
        assert runnable(rendered) == [] and "<a " not in rendered and "<img" not in rendered
        assert value in html.unescape(re.sub(r"<[^>]+>", "", rendered))  # shown as it is, character for character


@pytest.fixture(scope="module")
def small_hostile_log(tmp_path_factory) -> sm.SalesLog:
    return sm.read_log(hostile_log(tmp_path_factory.mktemp("small") / "log", n_deals=60))


def test_html_of_every_result_shows_names_as_text(small_hostile_log):
    """Fast: the HTML form of the results a notebook displays, without a kernel."""
    from salesmetrics.metrics.decisions import decision_increments
    from salesmetrics.metrics.random_walks import slippage
    from salesmetrics.metrics.volume import volume_vs_yield
    from salesmetrics.reports.health import pipeline_health
    from salesmetrics.reports.slippage import slippage_report
    from salesmetrics.reports.velocity import velocity_report

    log = small_hostile_log
    health = pipeline_health(log)
    results = [
        health.groups,
        health.stuck_deals,
        slippage_report(log, serial_threshold=1),  # every pushed deal: owners are named in the narrative
        slippage(log),
        velocity_report(log),
        decision_increments(log, kinds=['<img src=x onerror="alert(1)">', "call"]),
        volume_vs_yield(log, n_bootstrap=10),
    ]
    pages = [result._repr_html_() for result in results]
    for result, page in zip(results, pages, strict=True):
        assert runnable(page) == [], f"{type(result).__name__}: {runnable(page)[:3]}"
    assert all("PWNED" in page for page in pages[:2])  # the names are in the tables, as text
    narratives = " ".join(r.narrative() for r in (health, results[2], results[4]))
    assert "PWNED-owner" in narratives  # names in the sentences too
    assert runnable(markdown_of(Opening(log.model.name, "as of now", narratives))) == []


def markdown_of(shown) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(shown._repr_markdown_())
