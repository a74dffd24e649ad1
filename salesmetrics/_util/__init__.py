"""Private helpers every layer may use: text, files, atomic writes, output checks, limits, time zones.

Nothing here imports the rest of salesmetrics except :mod:`salesmetrics.exceptions`; nothing here is public API.
"""
