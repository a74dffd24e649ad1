"""The pipeline simulator's parts; the public entry point is :mod:`salesmetrics.simulate`.

- ``params``: defaults, scenarios, validation of overrides;
- ``engine``: the vectorised stage process, activities, close-date pushes and true win probabilities;
- ``frames``: the log and ground-truth tables, and writing them;
- ``calibration``: simulated against real statistics;
- ``compare``: is a regenerated output the same as a stored one, on any machine (decision 0032).
"""
