"""How many threads a model may use: OpenMP and BLAS limited to ``n_jobs`` while it fits, predicts or explains."""

from __future__ import annotations

import contextlib


def limit_threads(n_jobs):
    """Limit OpenMP/BLAS threads to ``n_jobs`` (None: the libraries' default, every core)."""
    if n_jobs is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(n_jobs))


__all__ = ["limit_threads"]
