"""The pipeline simulator's parts; the public entry point is :mod:`salesmetrics.simulation.simulator`.

- ``params``: defaults, scenarios, validation of overrides;
- ``engine``: the vectorised stage process, activities, close-date pushes and true win probabilities;
- ``frames``: the log and ground-truth tables, and writing them;
- ``calibration``: simulated against real statistics;
- ``compare``: is a regenerated output the same as a stored one, on any machine (decision 0032).
"""

from salesmetrics._util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "simulate": "simulator",
        "main_demo": "simulator",
        "DEMO": "simulator",
        "Simulation": "frames",
        "GroundTruth": "frames",
        "DEFAULTS": "params",
        "SCENARIOS": "params",
        "SPEC": "params",
        "calibration_report": "calibration",
        "plot_calibration": "calibration",
        "real_statistics": "calibration",
    },
)
