"""Metrics of a sales log, as functions of the log (as :mod:`sklearn.metrics` is for predictions).

- ``movement``: movements and motions per deal, and per owner or team and period;
- ``scoring``: ``score``, the per-deal or per-group table behind ``salesmetrics score`` (``_engine``: its DuckDB path);
- ``decisions``: did each client interaction end with the deal moving forward, back, or nowhere;
- ``volume``: activity volume against decision quality, per owner;
- ``velocity``: sales velocity, commit to signature, responsiveness; ``stage_times``: time in stage (Kaplan–Meier);
- ``stays``: movements, stays in open stages and owner/team groups, shared by velocity, momentum and models;
- ``momentum``: open deals that lost their pace;
- ``random_walks``: close-date pushes, back-and-forth deals, slippage;
- ``flows``: the pipeline waterfall (bridge) between periods, in money;
- ``outcomes``: win rates from outcomes alone.

Examples
--------
>>> from salesmetrics import metrics
>>> "decision_increments" in dir(metrics)
True
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "deal_scores": "scoring",
        "score_groups": "scoring",
        "score": "scoring",
        "decision_increments": "decisions",
        "DecisionIncrements": "decisions",
        "volume_vs_yield": "volume",
        "VolumeVsYield": "volume",
        "deal_outcomes": "volume",
        "sales_velocity": "velocity",
        "time_in_stage": "stage_times",
        "TimeInStage": "stage_times",
        "commit_to_signature": "velocity",
        "CommitToSignature": "velocity",
        "responsiveness": "velocity",
        "response_times": "velocity",
        "kaplan_meier": "stage_times",
        "momentum_flags": "momentum",
        "slippage": "random_walks",
        "Slippage": "random_walks",
        "deal_slippage": "random_walks",
        "push_lengths": "random_walks",
        "serial_pushers": "random_walks",
        "close_date_changes_classified": "random_walks",
        "waterfall": "flows",
        "Waterfall": "flows",
        "amount_changes": "flows",
        "deal_stages": "outcomes",
        "win_rates": "outcomes",
    },
)
