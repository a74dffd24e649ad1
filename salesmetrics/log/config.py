"""The stage model and settings of a sales log (``salesmetrics.yaml``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from salesmetrics._util.files import not_a_file
from salesmetrics._util.suggest import close_matches
from salesmetrics._util.text import listed, shorten
from salesmetrics._util.timezones import EXPECTED_TIMEZONE, is_timezone, timezone_hint
from salesmetrics.exceptions import Problem

CONFIG_FILE = "salesmetrics.yaml"
MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; more is a mistake (or a YAML bomb)
#: The keys of a stage model, in the order a file usually lists them.
STAGE_MODEL_KEYS = (
    "name",
    "timezone",
    "currency",
    "stages",
    "won",
    "lost",
    "commit_stage",
    "history",
    "notes",
    "date_order",
)
KNOWN_KEYS = set(STAGE_MODEL_KEYS)
#: How ambiguous spreadsheet dates (03/04/2024) are read: decided from the values, day first, month first.
DATE_ORDERS = ("auto", "dmy", "mdy")
#: Whether a log holds every stage change, or only what a snapshot export could tell.
HISTORIES = ("complete", "partial")


@dataclass(frozen=True)
class StageModel:
    """The ordered open stages of a pipeline and its terminal (won and lost) stages.

    Parameters
    ----------
    stages : tuple of str
        Open stages in pipeline order.
    won, lost : tuple of str
        Terminal stage names. Entering a won stage is an advance and a win; entering a lost stage is a loss.
    commit_stage : str or None
        The open stage that stands for a verbal yes, used by momentum metrics.
    timezone : str
        IANA time zone applied to naive timestamps; every timestamp is held in this zone.
    currency, name : str or None
        Labels for reports.
    history : {"complete", "partial"}
        ``"partial"`` when the log was built from a snapshot export and holds only what could be known.
    notes : tuple of str
        Plain statements of what the log does not know (written by adapters).
    date_order : {"auto", "dmy", "mdy"}
        How to read ambiguous spreadsheet dates such as ``03/04/2024``.

    Examples
    --------
    >>> m = StageModel(stages=("Lead", "Demo", "Proposal"), won=("Won",), lost=("Lost",))
    >>> m.rank("Proposal"), m.is_terminal("Won"), m.is_open("Demo")
    (2, True, True)
    """

    stages: tuple[str, ...]
    won: tuple[str, ...] = ("Won",)
    lost: tuple[str, ...] = ("Lost",)
    commit_stage: str | None = None
    timezone: str = "UTC"
    currency: str | None = None
    name: str | None = None
    history: str = "complete"
    notes: tuple[str, ...] = field(default_factory=tuple)
    date_order: str = "auto"

    @property
    def all_stages(self) -> tuple[str, ...]:
        """Open stages, then won, then lost stages."""
        return self.stages + self.won + self.lost

    @cached_property
    def _ranks(self) -> dict[str, int]:  # a dict, so ranking thousands of stages is not quadratic
        ranks = {s: i for i, s in reversed(list(enumerate(self.stages)))}
        ranks.update({s: -1 for s in self.lost})
        ranks.update({s: len(self.stages) for s in self.won})
        return ranks

    def rank(self, stage: str) -> int:
        """Position used to tell advances from regressions.

        Open stages rank 0..n-1 in order; won stages rank n (past every open stage); lost stages rank -1.
        """
        try:
            return self._ranks[stage]
        except KeyError:
            raise ValueError(f"{stage!r} is not a stage of the model") from None

    def is_open(self, stage: str) -> bool:
        return stage in self.stages

    def is_terminal(self, stage: str) -> bool:
        return stage in self.won or stage in self.lost

    def to_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in out.items() if v not in (None, [], "auto") or k in ("won", "lost")}

    def write(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")


YAML_BOOLEANS = "yes, no, on, off, true, false, y, n"


MAX_DEPTH = 50  # nested [ ] and { } in salesmetrics.yaml; a stage model needs two


def _flow_depth(text: str) -> int:
    """The deepest nesting of ``[ ]`` and ``{ }`` in ``text`` (brackets inside quotes count too: an upper bound).

    >>> _flow_depth("stages: [Lead, Won]"), _flow_depth("a: [[[x]]]")
    (1, 3)
    """
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]", "", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


class _Loader(yaml.SafeLoader):
    """YAML's safe loader without aliases (``*name``): a stage model needs none, and a few nested aliases
    (a "billion laughs") expand to more than memory holds."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in salesmetrics.yaml; write the values out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _as_names(value: Any, key: str) -> tuple[tuple[str, ...] | None, list[str]]:
    """Stage names (or notes) from a YAML value: a name or a list of names; and what is wrong with them.

    YAML reads an unquoted ``yes`` or ``no`` as a boolean and an empty item as null; names must be text.
    """
    if value is None:
        return (), []
    items = [value] if isinstance(value, (str, int, float)) else value
    if not isinstance(items, list):
        return None, [f"'{key}' must be a list of names, not a {type(value).__name__}."]
    names, wrong = [], []
    for item in items:
        if isinstance(item, bool):
            wrong.append(
                f"'{key}' has an item YAML read as {str(item).lower()} ({YAML_BOOLEANS} unquoted are true or "
                "false): quote it, e.g. 'yes'."
            )
        elif item is None or (isinstance(item, str) and not item.strip()):
            wrong.append(f"'{key}' has an empty item: give every name, or remove the item.")
        elif isinstance(item, (str, int, float)):
            names.append(str(item))
        else:
            wrong.append(f"'{key}' has an item that is a {type(item).__name__}, not a name.")
    return tuple(names), wrong[:5]


def _scalar(raw: dict, key: str, errors: list[str]) -> str | None:
    """A setting that must be one value (text or a number), as text; None when absent."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        errors.append(f"'{key}' must be a single value, not a {type(value).__name__}.")
        return None
    return str(value)


def load_config(folder: Path) -> tuple[StageModel | None, list[Problem]]:
    """Read ``salesmetrics.yaml`` from a log folder, collecting every problem it has."""
    path = folder / CONFIG_FILE
    problems: list[Problem] = []

    def err(message: str, column: str | None = None, expected: str | None = None, values=()) -> None:
        problems.append(
            Problem(
                "config",
                "error",
                message,
                file=CONFIG_FILE,
                column=column,
                expected=expected,
                values=tuple(values),
            )
        )

    if not path.exists():
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        problems.append(
            Problem(
                "missing_file",
                "error",
                f"The log folder has no {CONFIG_FILE}, which names the stages. "
                f"Files found: {listed(found)}. See docs/log-format.md for an example.",
                file=CONFIG_FILE,
            )
        )
        return None, problems
    if (kind := not_a_file(path)) is not None:
        err(f"It is {kind}, not a file. Write the stage model there (docs/log-format.md).")
        return None, problems
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:  # no permission, a disk error
        err(f"Cannot read the file: {exc.strerror or exc}.")
        return None, problems
    if len(data) > MAX_CONFIG_BYTES:
        err(
            f"It is larger than {MAX_CONFIG_BYTES // 1024} KiB, and a stage model is a few lines: check it is "
            "the right file."
        )
        return None, problems
    try:
        text = data.decode("utf-8-sig")
        if _flow_depth(text) > MAX_DEPTH:  # PyYAML's scanner is quadratic in it: refuse before parsing
            raise RecursionError
        raw = yaml.load(text, Loader=_Loader)  # a SafeLoader without aliases
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        err(f"Cannot read it as YAML: {exc}".replace("\n", " "))
        return None, problems
    except RecursionError:
        err("Cannot read it as YAML: it is nested too deeply. A stage model is a flat mapping of lists.")
        return None, problems
    if not isinstance(raw, dict):
        err("It must be a mapping of keys such as 'stages', 'won' and 'lost'.")
        return None, problems

    for key in sorted({str(k) for k in raw} - KNOWN_KEYS):
        close = close_matches(shorten(key, 40), sorted(KNOWN_KEYS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        problems.append(
            Problem(
                "config_unknown_key",
                "warning",
                f"Unknown key '{shorten(key, 40)}' is ignored.{hint}",
                file=CONFIG_FILE,
                column=key,
            )
        )

    model, found = parse_stage_model(raw, CONFIG_FILE)
    return model, problems + found


def parse_stage_model(raw: dict, file: str) -> tuple[StageModel | None, list[Problem]]:
    """The stage model held in the keys of a YAML mapping, and every problem it has (None when one is an error).

    Both YAML files that hold a stage model read it here: a log's ``salesmetrics.yaml`` and an adapter's mapping
    file (``file`` names it in problems). Only :data:`STAGE_MODEL_KEYS` are read; other keys are the caller's.

    >>> model, problems = parse_stage_model({"stages": ["Lead", "Demo"], "commit_stage": "Demo"}, "map.yaml")
    >>> model.stages, model.won, model.commit_stage, problems
    (('Lead', 'Demo'), ('Won',), 'Demo', [])
    >>> print(parse_stage_model({"stages": ["Lead"], "won": []}, "map.yaml")[1][0])
    map.yaml, column 'won': 'won' must name at least one stage.
    """
    problems: list[Problem] = []

    def err(message: str, column: str | None = None, expected: str | None = None, values=()) -> None:
        problems.append(
            Problem("config", "error", message, file=file, column=column, expected=expected, values=tuple(values))
        )

    wrong: list[str] = []
    stages, found = _as_names(raw.get("stages"), "stages")
    wrong += found
    won, found = _as_names(raw.get("won", ["Won"]), "won")
    wrong += found
    lost, found = _as_names(raw.get("lost", ["Lost"]), "lost")
    wrong += found
    notes, found = _as_names(raw.get("notes"), "notes")
    wrong += found
    settings = {key: _scalar(raw, key, wrong) for key in ("commit_stage", "timezone", "currency", "name", "history")}
    settings["date_order"] = _scalar(raw, "date_order", wrong)
    for message in wrong:
        err(message, message.split("'")[1])  # each message starts with the key it is about, quoted
    if not stages and stages is not None and not any(w.startswith("'stages'") for w in wrong):
        err("'stages' must be a non-empty list of open stage names in pipeline order.", "stages")
    if stages is None:
        stages = ()
    if won == () and not any(w.startswith("'won'") for w in wrong):
        err("'won' must name at least one stage.", "won")
    if any(p.severity == "error" for p in problems):
        return None, problems

    counts = Counter(list(stages) + list(won) + list(lost))
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:
        err("A stage name appears more than once across stages, won and lost.", "stages", values=dupes[:5])
    commit = settings["commit_stage"]
    if commit is not None and commit not in stages:
        shown = ", ".join(stages[:20]) + (f" and {len(stages) - 20:,} more" if len(stages) > 20 else "")
        err("'commit_stage' must be one of the open stages.", "commit_stage", expected=shown, values=[commit])
    tz = settings["timezone"] or "UTC"
    if not is_timezone(tz):
        err(f"Unknown time zone.{timezone_hint(tz)}", "timezone", expected=EXPECTED_TIMEZONE, values=[tz])
    history = settings["history"] or "complete"
    if history not in HISTORIES:
        err("Unknown history kind.", "history", expected="'complete' or 'partial'", values=[history])
    date_order = settings["date_order"] or "auto"
    if date_order not in DATE_ORDERS:
        err("Unknown date order.", "date_order", expected="'auto', 'dmy' or 'mdy'", values=[date_order])
    if any(p.severity == "error" for p in problems):
        return None, problems
    model = StageModel(
        stages=stages,
        won=won,
        lost=lost,
        commit_stage=commit,
        timezone=tz,
        currency=settings["currency"],
        name=settings["name"],
        history=history,
        notes=notes or (),
        date_order=date_order,
    )
    return model, problems
