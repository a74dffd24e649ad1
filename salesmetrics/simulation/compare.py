"""Is a regenerated simulator output the same as a stored one, on any machine? (decision 0032)

The log files (``deals``, ``stage_changes``, ``activities``, ``close_date_changes``, ``salesmetrics.yaml``) and
``truth/parameters.yaml`` must be byte for byte the same: their numbers are already quantised (times cut to the
minute, amounts to the cent, close dates to the day). The ground-truth Parquet tables hold the simulator's exact
floats (latent traits, true win probabilities), which come from ``exp``, ``erfcx`` and small linear solves whose
last binary digit differs between processors (NumPy's AVX-512 code paths, the BLAS kernel OpenBLAS picks): there
every non-float column must be equal and every float column equal within :data:`TRUTH_RTOL` (relative) or
:data:`TRUTH_ATOL` (absolute).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from salesmetrics._util.text import plural

#: Relative tolerance for the floats of the truth tables; processors differ by about 1e-15 (a few units in the
#: last place), a change to the simulator by far more.
TRUTH_RTOL = 1e-10
#: Absolute tolerance, for true win probabilities near 0 (observed differences: at most 7e-16).
TRUTH_ATOL = 1e-12


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _table_differences(name: str, expected: Path, actual: Path) -> list[str]:
    """How two Parquet tables differ beyond the float tolerance, in words (empty when they match)."""
    import pandas as pd

    a, b = pd.read_parquet(expected), pd.read_parquet(actual)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"{name}: columns {list(a.columns)} and {len(a):,} rows, now {list(b.columns)} and {len(b):,} rows"]
    out = []
    for column in a.columns:
        x, y = a[column], b[column]
        if str(x.dtype) != str(y.dtype):
            out.append(f"{name}: column {column!r} is {x.dtype}, now {y.dtype}")
        elif x.dtype.kind == "f":
            xv, yv = x.to_numpy(np.float64), y.to_numpy(np.float64)
            far = ~np.isclose(xv, yv, rtol=TRUTH_RTOL, atol=TRUTH_ATOL, equal_nan=True)
            if far.any():
                i = int(np.flatnonzero(far)[0])
                out.append(
                    f"{name}: column {column!r} differs beyond the tolerance in {plural(int(far.sum()), 'row')} "
                    f"(first: row {i + 1}, {xv[i]!r} then {yv[i]!r})"
                )
        elif not x.equals(y):
            i = int(np.flatnonzero(~(x.eq(y) | (x.isna() & y.isna())).to_numpy(bool))[0])
            out.append(f"{name}: column {column!r} differs (first: row {i + 1}, {x.iloc[i]!r} then {y.iloc[i]!r})")
    return out


def output_differences(expected: str | Path, actual: str | Path) -> list[str]:
    """How the simulator output in ``actual`` differs from the one in ``expected``, one sentence per difference.

    Empty when every file is there in both, every file other than a truth Parquet table is byte for byte the
    same, and the truth tables agree (floats within :data:`TRUTH_RTOL` / :data:`TRUTH_ATOL`).

    Examples
    --------
    >>> import tempfile
    >>> from salesmetrics.simulation.simulator import simulate
    >>> sim = simulate(n_deals=40, n_owners=4, seed=1, months=3)
    >>> a, b = (sim.write(f"{tempfile.mkdtemp()}/log") for _ in range(2))
    >>> output_differences(a, b)
    []
    """
    expected, actual = Path(expected), Path(actual)
    before, after = _files(expected), _files(actual)
    out = [f"{name}: missing" for name in before if name not in after]
    out += [f"{name}: not expected" for name in after if name not in before]
    for name in (n for n in before if n in after):
        if name.startswith("truth/") and name.endswith(".parquet"):
            out += _table_differences(name, expected / name, actual / name)
        elif (expected / name).read_bytes() != (actual / name).read_bytes():
            out.append(f"{name}: not byte for byte the same")
    return out


__all__ = ["TRUTH_ATOL", "TRUTH_RTOL", "output_differences"]
