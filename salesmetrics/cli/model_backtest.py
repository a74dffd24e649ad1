"""What ``salesmetrics model backtest`` prints beside the metrics: calibration, labelled share per test date, and
the rolling origin's figures per cutoff with their spread."""

from __future__ import annotations

import pandas as pd

from salesmetrics.models.rolling import rolling_origin, rolling_spread, rolling_table


def side_by_side(ev):
    """The evaluation's metrics with each model's calibration beside them: one row per model."""
    wide = ev.wide()
    calibration = ev.calibration_summary().set_index("model").reindex(wide.index)
    wide["Mean predicted"] = calibration["mean_predicted"].map(lambda v: f"{v:.3f}")
    wide["Observed"] = calibration["observed_rate"].map(lambda v: f"{v:.3f}")
    wide["Calibration error"] = calibration["calibration_error"].map(lambda v: f"{v:.3f}")
    wide.index.name = None
    return wide


def print_rolling(origins) -> None:
    """The rolling origin's figures per cutoff (``rolling_table``), then each model's mean, spread and range over
    the cutoffs (``rolling_spread``)."""
    table = rolling_table(origins)
    spread = rolling_spread(table)
    print(f"\nRolling origin: {len(origins)} cutoffs, each tested up to the next (the last to the end of the log)")
    shown = table.assign(cutoff=table["cutoff"].map(lambda t: f"{t:%Y-%m-%d}"))
    shown = shown.rename(
        columns={
            "cutoff": "Cutoff",
            "model": "Model",
            "test_rows": "Test rows",
            "labelled_share": "Labelled share",
            "roc_auc": "ROC AUC",
            "brier": "Brier score",
            "calibration_error": "Calibration error",
        }
    )
    with pd.option_context("display.width", 250, "display.max_columns", 12):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines = []
        for name, row in spread.iterrows():
            cells = [
                f"{label} {row[f'{key}_mean']:.3f} ± {row[f'{key}_sd']:.3f} [{row[f'{key}_min']:.3f}, "
                f"{row[f'{key}_max']:.3f}]"
                for key, label in (("roc_auc", "ROC AUC"), ("brier", "Brier"), ("calibration_error", "calib. error"))
            ]
            lines.append(f"  {name}: " + "; ".join(cells))
        print("Mean ± standard deviation [lowest, highest] over the cutoffs:")
        print("\n".join(lines))


def share_line(ev, most: int = 12) -> str:
    """The labelled share of each test date, in one line (the first and last dates when there are many)."""
    share = ev.labelled_share
    if share.empty:
        return "Labelled share per test date: not known (a snapshot table was given)."
    cells = [
        f"{row.as_of:%Y-%m-%d} {row.labelled_share:.0%}{'' if row.used else ' (left out)'}"
        for row in share.itertuples()
    ]
    if len(cells) > most:
        cells = [*cells[: most // 2], f"... {len(cells) - most} more ...", *cells[-most // 2 :]]
    return "Labelled share per test date: " + ", ".join(cells)


__all__ = ["print_rolling", "rolling_origin", "share_line", "side_by_side"]
