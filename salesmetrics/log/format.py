"""The log format as data: its tables, their columns, and the rules their values follow (``docs/log-format.md``).

No pandas here: the relational core (:mod:`salesmetrics.log.core`) compiles the same rules to SQL without it, and
the pandera schemas (:mod:`salesmetrics.log.schemas`) build on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesmetrics.log.config import StageModel

OUTCOMES = ("advanced", "stayed", "regressed")
DIRECTIONS = ("inbound", "outbound")
#: The owner an adapter writes for a deal whose export names none; reports count it as unassigned.
UNKNOWN_OWNER = "(unknown)"


@dataclass(frozen=True)
class TableSpec:
    """Which columns a table has, of which kind, and whether the table itself is required."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    timestamps: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    required_table: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


DEALS = TableSpec(
    "deals",
    required=("deal_id", "owner", "created_at"),
    optional=("amount", "team"),
    timestamps=("created_at",),
    numbers=("amount",),
)
STAGE_CHANGES = TableSpec("stage_changes", ("deal_id", "changed_at", "stage"), (), ("changed_at",))
ACTIVITIES = TableSpec(
    "activities",
    required=("deal_id", "occurred_at", "kind"),
    optional=("outcome", "direction"),
    timestamps=("occurred_at",),
    required_table=False,
)
CLOSE_DATE_CHANGES = TableSpec(
    "close_date_changes",
    ("deal_id", "changed_at", "close_date"),
    (),
    ("changed_at", "close_date"),
    required_table=False,
)
AMOUNT_CHANGES = TableSpec(
    "amount_changes",
    ("deal_id", "changed_at", "amount"),
    (),
    ("changed_at",),
    numbers=("amount",),
    required_table=False,
)
TABLES = (DEALS, STAGE_CHANGES, ACTIVITIES, CLOSE_DATE_CHANGES, AMOUNT_CHANGES)
EVENT_TIME = {
    "stage_changes": "changed_at",
    "activities": "occurred_at",
    "close_date_changes": "changed_at",
    "amount_changes": "changed_at",
}


@dataclass(frozen=True)
class Rule:
    """What a column's parsed values may be; the pandera schema and the quick check are both built from it.

    ``kind`` is ``text``, ``time`` or ``number``; ``allowed`` names a vocabulary (``stages``, ``outcomes`` or
    ``directions``) the values must come from; ``non_negative`` applies to numbers.
    """

    kind: str
    nullable: bool = False
    required: bool = True
    unique: bool = False
    allowed: str | None = None
    non_negative: bool = False


RULES: dict[str, dict[str, Rule]] = {
    "deals": {
        "deal_id": Rule("text", unique=True),
        "owner": Rule("text"),
        "created_at": Rule("time", nullable=True),
        "amount": Rule("number", nullable=True, required=False, non_negative=True),
        "team": Rule("text", nullable=True, required=False),
    },
    "stage_changes": {
        "deal_id": Rule("text"),
        "changed_at": Rule("time"),
        "stage": Rule("text", allowed="stages"),
    },
    "activities": {
        "deal_id": Rule("text"),
        "occurred_at": Rule("time"),
        "kind": Rule("text"),
        "outcome": Rule("text", nullable=True, required=False, allowed="outcomes"),
        "direction": Rule("text", nullable=True, required=False, allowed="directions"),
    },
    "close_date_changes": {
        "deal_id": Rule("text"),
        "changed_at": Rule("time"),
        "close_date": Rule("time"),
    },
    "amount_changes": {
        "deal_id": Rule("text"),
        "changed_at": Rule("time"),
        "amount": Rule("number", non_negative=True),
    },
}


def vocabulary(name: str, model: StageModel) -> tuple[str, ...]:
    """The values a column with ``allowed=name`` may take: the model's stages, or the outcomes or directions."""
    return {"stages": tuple(model.all_stages), "outcomes": OUTCOMES, "directions": DIRECTIONS}[name]
