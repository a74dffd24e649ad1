"""The stage model and settings of a sales log (``salesmetrics.yaml``)."""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._suggest import close_matches
from .exceptions import Problem

CONFIG_FILE = "salesmetrics.yaml"
KNOWN_KEYS = {
    "name",
    "stages",
    "won",
    "lost",
    "commit_stage",
    "timezone",
    "currency",
    "history",
    "notes",
    "date_order",
}


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

    def rank(self, stage: str) -> int:
        """Position used to tell advances from regressions.

        Open stages rank 0..n-1 in order; won stages rank n (past every open stage); lost stages rank -1.
        """
        if stage in self.won:
            return len(self.stages)
        if stage in self.lost:
            return -1
        return self.stages.index(stage)

    def is_open(self, stage: str) -> bool:
        return stage in self.stages

    def is_terminal(self, stage: str) -> bool:
        return stage in self.won or stage in self.lost

    def to_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in out.items() if v not in (None, [], "auto") or k in ("won", "lost")}

    def write(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")


def _as_names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return tuple(str(v) for v in value)
    return None


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
                f"Files found: {', '.join(found) or 'none'}. See docs/log-format.md for an example.",
                file=CONFIG_FILE,
            )
        )
        return None, problems
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        err(f"Cannot read it as YAML: {exc}".replace("\n", " "))
        return None, problems
    if not isinstance(raw, dict):
        err("It must be a mapping of keys such as 'stages', 'won' and 'lost'.")
        return None, problems

    for key in sorted(set(raw) - KNOWN_KEYS):
        close = close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        problems.append(
            Problem(
                "config_unknown_key",
                "warning",
                f"Unknown key '{key}' is ignored.{hint}",
                file=CONFIG_FILE,
                column=key,
            )
        )

    stages = _as_names(raw.get("stages"))
    won = _as_names(raw.get("won", ["Won"]))
    lost = _as_names(raw.get("lost", ["Lost"]))
    if not stages:
        err("'stages' must be a non-empty list of open stage names in pipeline order.", "stages")
    if won is None or lost is None:
        err("'won' and 'lost' must be lists of stage names.", "won/lost")
    if not won:
        err("'won' must name at least one stage.", "won")
    if problems and any(p.severity == "error" for p in problems):
        return None, problems

    names = list(stages) + list(won) + list(lost)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        err("A stage name appears more than once across stages, won and lost.", "stages", values=dupes)
    commit = raw.get("commit_stage")
    if commit is not None and str(commit) not in stages:
        err(
            "'commit_stage' must be one of the open stages.",
            "commit_stage",
            expected=", ".join(stages),
            values=[str(commit)],
        )
    tz = str(raw.get("timezone") or "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        err(
            "Unknown time zone.",
            "timezone",
            expected="an IANA name such as 'Europe/Berlin' or 'UTC'",
            values=[tz],
        )
    history = str(raw.get("history") or "complete")
    if history not in ("complete", "partial"):
        err("Unknown history kind.", "history", expected="'complete' or 'partial'", values=[history])
    date_order = str(raw.get("date_order") or "auto")
    if date_order not in ("auto", "dmy", "mdy"):
        err("Unknown date order.", "date_order", expected="'auto', 'dmy' or 'mdy'", values=[date_order])
    notes = _as_names(raw.get("notes"))
    if notes is None:
        err("'notes' must be a list of sentences.", "notes")
    if any(p.severity == "error" for p in problems):
        return None, problems
    model = StageModel(
        stages=stages,
        won=won,
        lost=lost,
        commit_stage=None if commit is None else str(commit),
        timezone=tz,
        currency=None if raw.get("currency") is None else str(raw["currency"]),
        name=None if raw.get("name") is None else str(raw["name"]),
        history=history,
        notes=notes or (),
        date_order=date_order,
    )
    return model, problems
