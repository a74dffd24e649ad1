"""The simulation itself: owners, deals, the stage process, activities, close-date pushes, true win odds.

Everything is held as numpy arrays over all deals at once. The stage process is a loop over *movements*:
each pass draws, for every open deal, the time of its next client decision and the time it would be lost to
stalling, and keeps the earlier one. Activities and close-date changes are then filled in, in bulk, between
those events. Time is a float of calendar days since the window start.

Per open stage ``s`` of a deal with owner ``o`` and latent quality ``q``:

- interactions arrive at ``v = volume_o * interaction_multiplier[s]`` per day;
- each ends with a client decision with chance ``p = decision_o * decision_multiplier[s] * responsiveness``,
  so decisions arrive at ``r = v * p`` per day;
- the loss hazard ``u`` days after the last movement is ``a + b * u`` with ``a = v * (1 - p) * fatigue[s]``
  (each interaction without a decision may lose the client) and ``b = stall_growth[s] * v**2``: the client's
  patience runs down with every interaction since the last movement, so the chance of losing the deal at
  an interaction grows by ``stall_growth`` per interaction;
- a decision advances with chance ``sigmoid(logit(q) + advance_bias[s])`` (by ``1 + Poisson(steps_o - 1)``
  stages, never past the commit stage; from the commit stage it signs), else loses the deal with chance
  ``reject_share[s]`` or sends it back one stage (at the first stage there is no way back: it loses).

Because time enters only through ``v * u`` (interactions since the last movement), activity volume changes how
fast deals resolve, not how they resolve; the decision rate changes both. The true win probability of each
state has a closed form (see :func:`win_probabilities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erfcx, expit, logit

LOST_CODE = -1  # stage code of the lost stage in engine arrays; open stages are 0..K-1 and won is K


@dataclass
class Raw:
    """Arrays produced by one run, before they become tables."""

    window_days: int
    owners: dict[str, np.ndarray]
    deals: dict[str, np.ndarray]
    changes: dict[str, np.ndarray]  # deal, t, stage code
    activities: dict[str, np.ndarray]  # deal, t, kind, outcome, inbound
    close_changes: dict[str, np.ndarray]  # deal, t, day
    truth_wp: dict[str, np.ndarray]  # deal, t, stage, since_move, p, event
    decisions: np.ndarray  # per deal: number of client decisions
    regressions: np.ndarray
    close_reason: np.ndarray  # 0 open, 1 signed, 2 rejected, 3 stalled
    amount_changes: dict[str, np.ndarray] | None = None  # deal, t, amount


def draw_owners(rng: np.random.Generator, n_owners: int, p: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each owner's latent traits; the first team ("Team A") gets the ``focus_team`` multipliers."""
    o, focus = p["owners"], p["focus_team"]
    team = np.arange(n_owners) // o["team_size"]
    in_focus = team == 0
    volume = o["volume_per_week"] * np.exp(rng.normal(0, o["volume_spread"], n_owners))
    decision = expit(logit(o["decision_rate"]) + rng.normal(0, o["decision_spread"], n_owners))
    response = o["response_hours"] * np.exp(rng.normal(0, o["response_spread"], n_owners))
    steps = np.maximum(1.0, o["steps_per_decision"] + rng.normal(0, o["steps_spread"], n_owners))
    missing = np.clip(rng.normal(o["outcome_missing_share"], o["outcome_missing_spread"], n_owners), 0, 1)
    volume = np.where(in_focus, volume * focus["volume_multiplier"], volume)
    decision = np.minimum(np.where(in_focus, decision * focus["decision_multiplier"], decision), 0.95)
    response = np.where(in_focus, response * focus["response_multiplier"], response)
    steps = np.maximum(1.0, np.where(in_focus, steps * focus["steps_multiplier"], steps))
    return {
        "team": team,
        "volume_per_week": volume,
        "decision_rate": decision,
        "response_hours": response,
        "steps_per_decision": steps,
        "outcome_missing_share": missing,
    }


def stage_rates(owners: dict[str, np.ndarray], p: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per owner and open stage: interactions per day ``v``, decision chance ``p``, rates ``r`` and ``a``."""
    pr = p["process"]
    imult = np.asarray(pr["interaction_multiplier"])
    dmult = np.asarray(pr["decision_multiplier"])
    inbound = np.asarray(pr["inbound_share"])
    fatigue = np.asarray(pr["fatigue"])
    v = owners["volume_per_week"][:, None] / 7.0 * imult[None, :]
    slow = 1.0 - np.exp(-owners["response_hours"] / pr["response_decay_hours"])
    responsive = 1.0 - inbound[None, :] * slow[:, None]
    pd_ = np.minimum(owners["decision_rate"][:, None] * dmult[None, :] * responsive, 0.95)
    growth = np.asarray(pr["stall_growth"])
    return {"v": v, "p": pd_, "r": v * pd_, "a": v * (1.0 - pd_) * fatigue[None, :], "b": growth[None, :] * v * v}


def advance_chance(quality: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """Per deal and open stage: the chance that a client decision moves the deal forward."""
    bias = np.asarray(p["process"]["advance_bias"])
    q = np.clip(quality, 1e-6, 1 - 1e-6)
    return expit(logit(q)[:, None] + bias[None, :])


def step_probabilities(steps: np.ndarray, n_stages: int) -> np.ndarray:
    """``[owner, from_stage, to_stage]``: where an advancing decision lands (to_stage ``K`` is won).

    Advances move ``1 + Poisson(steps - 1)`` stages but stop at the commit stage (the last open stage);
    only a decision taken at the commit stage signs.
    """
    k = n_stages
    lam = steps - 1.0
    jumps = np.arange(1, k + 1)
    from scipy.stats import poisson

    pmf = poisson.pmf(jumps[None, :] - 1, lam[:, None])  # [owner, jump-1]
    out = np.zeros((len(steps), k, k + 1))
    for s in range(k - 1):
        room = k - 1 - s  # jumps 1..room land on open stages; the rest stops at commit
        out[:, s, s + 1 : s + room + 1] = pmf[:, :room]
        out[:, s, k - 1] += 1.0 - pmf[:, :room].sum(axis=1)
    out[:, k - 1, k] = 1.0
    return out


def decision_probability(r: np.ndarray, a: np.ndarray, b: np.ndarray, since: np.ndarray) -> np.ndarray:
    """Chance the next decision comes before the deal is lost, ``since`` days after the last movement.

    With decision rate ``r`` and loss hazard ``a + b * (since + w)`` this is
    ``r * sqrt(pi / 2b) * erfcx((r + a + b * since) / sqrt(2b))`` (``r / (r + a)`` when ``b`` is 0).

    Examples
    --------
    >>> float(decision_probability(np.array(1.0), np.array(1.0), np.array(0.0), np.array(5.0)))
    0.5
    """
    r, a, b, since = np.broadcast_arrays(*(np.asarray(x, dtype="float64") for x in (r, a, b, since)))
    c = r + a + b * since
    out = np.empty(r.shape)
    flat = b <= 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        out[flat] = np.where(c[flat] > 0, r[flat] / c[flat], 0.0)
        sb = np.sqrt(2.0 * b[~flat])
        out[~flat] = r[~flat] * np.sqrt(np.pi) / sb * erfcx(c[~flat] / sb)
    return np.clip(out, 0.0, 1.0)


def win_probabilities(
    r: np.ndarray, a: np.ndarray, b: np.ndarray, adv: np.ndarray, reject: np.ndarray, jumps: np.ndarray
) -> np.ndarray:
    """``[deal, stage]`` true chance of winning from each open stage, just after a movement.

    ``W = D * (adv * sum_j jumps_j W_j + (1 - adv) * (1 - reject) * W_{s-1})`` with ``D`` from
    :func:`decision_probability` at ``since = 0``, ``W_won = 1`` and ``W_lost = 0``: one small linear system
    per deal, solved in a batch.
    """
    k = r.shape[1]
    d0 = decision_probability(r, a, b, np.zeros((1, 1)))
    m = d0[:, :, None] * adv[:, :, None] * jumps[:, :, :k]
    back = d0 * (1.0 - adv) * (1.0 - reject[None, :])
    s = np.arange(1, k)
    m[:, s, s - 1] += back[:, 1:]
    c = d0 * adv * jumps[:, :, k]
    system = np.eye(k)[None, :, :] - m
    return np.clip(np.linalg.solve(system, c[:, :, None])[:, :, 0], 0.0, 1.0)


def _slip_window(p: dict[str, Any], start: pd.Timestamp, window_days: int) -> tuple[float, float, float]:
    quarter = p["slip"]["quarter"]
    if not quarter:
        return (np.inf, np.inf, 1.0)
    q0 = start + pd.DateOffset(months=3 * (quarter - 1))
    q1 = start + pd.DateOffset(months=3 * quarter)
    lo, hi = (q0 - start).days, (q1 - start).days
    return (float(min(lo, window_days)), float(min(hi, window_days)), p["slip"]["decision_multiplier"])


def _decision_wait(t: np.ndarray, effort: np.ndarray, slip: tuple[float, float, float]) -> np.ndarray:
    """Days until effective time ``effort`` has passed from ``t``, when the clock runs at ``m`` in the slip."""
    s0, s1, m = slip
    if not np.isfinite(s0) or m == 1.0:
        return effort
    before = np.clip(s0 - t, 0, None)
    inside = np.clip(s1 - np.maximum(t, s0), 0, None)
    e = effort
    wait = np.where(e <= before, e, 0.0)
    rest = e - before
    in_slip = (e > before) & (rest <= m * inside)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(in_slip, before + rest / m if m > 0 else np.inf, wait)
    after = (e > before) & ~in_slip
    wait = np.where(after, before + inside + (rest - m * inside), wait)
    return wait


def _loss_wait(a: np.ndarray, b: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Days until cumulative hazard ``a w + b w^2 / 2`` reaches ``e`` (a stable root)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        root = 2.0 * e / (a + np.sqrt(a * a + 2.0 * b * e))
    return np.where((a <= 0) & (b <= 0), np.inf, root)


def run(
    n_deals: int, n_owners: int, seed: int, start: str, months: int, p: dict[str, Any], progress: bool = False
) -> Raw:
    """Simulate one log. Separate random streams per part, so changing one part leaves the others alone."""
    # spawn(7) gives the same first six streams as spawn(6) did: amount changes (the seventh) leave every other
    # table exactly as it was
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    rng_owner, rng_deal, rng_proc, rng_act, rng_close, rng_rec, rng_amount = streams
    start_ts = pd.Timestamp(start)
    window = int((start_ts + pd.DateOffset(months=months) - start_ts).days)
    k = len(p["stages"])
    slip = _slip_window(p, start_ts, window)

    owners = draw_owners(rng_owner, n_owners, p)
    rates = stage_rates(owners, p)
    jumps = step_probabilities(owners["steps_per_decision"], k)

    # Deals: owner, creation time, amount, quality.
    d = p["deals"]
    owner = rng_deal.integers(0, n_owners, n_deals)
    created = np.sort(rng_deal.uniform(0, window, n_deals))
    z = rng_deal.standard_normal(n_deals)
    amount = np.round(d["amount_median"] * np.exp(d["amount_spread"] * z), 2)
    conc, mean = d["quality_concentration"], d["quality_mean"]
    base_q = rng_deal.beta(mean * conc, (1 - mean) * conc, n_deals)
    quality = expit(logit(np.clip(base_q, 1e-6, 1 - 1e-6)) - d["amount_quality_slope"] * z)
    adv = advance_chance(quality, p)
    reject = np.asarray(p["process"]["reject_share"])

    # The stage process, one movement per pass for every open deal.
    stage = np.zeros(n_deals, dtype=np.int64)
    t = created.copy()
    alive = np.arange(n_deals)
    n_dec = np.zeros(n_deals, dtype=np.int64)
    n_reg = np.zeros(n_deals, dtype=np.int64)
    reason = np.zeros(n_deals, dtype=np.int8)
    # deal, stage, t0, t1, kind (0 censored, 1 decision, 2 loss), outcome (0 none, 1 advanced, 2 regressed)
    segs: list[tuple[np.ndarray, ...]] = []
    chg: list[tuple[np.ndarray, ...]] = [(np.arange(n_deals), created, np.zeros(n_deals, dtype=np.int64))]
    step = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_deals, desc="simulating deals", unit="deal")
    while alive.size:
        step += 1
        s, t0, o = stage[alive], t[alive], owner[alive]
        r, a, b = rates["r"][o, s], rates["a"][o, s], rates["b"][o, s]
        with np.errstate(divide="ignore"):
            effort = rng_proc.exponential(1.0, alive.size) / r
        w_dec = _decision_wait(t0, effort, slip)
        w_loss = _loss_wait(a, b, rng_proc.exponential(1.0, alive.size))
        u = rng_proc.uniform(size=alive.size)
        t1 = t0 + np.minimum(w_dec, w_loss)
        censored = t1 >= window
        if step > 10_000:  # cannot happen with valid parameters; a guard against an endless loop
            censored[:] = True
        lost_stall = ~censored & (w_loss < w_dec)
        decided = ~censored & ~lost_stall
        kind = np.where(censored, 0, np.where(decided, 1, 2)).astype(np.int8)

        # Outcome of each decision; a rejection moves the deal to lost, so it is recorded as a regression.
        p_adv = adv[alive, s]
        advances = decided & (u < p_adv)
        rejects = decided & ~advances & ((u >= p_adv + (1 - p_adv) * (1 - reject[s])) | (s == 0))
        regresses = decided & ~advances & ~rejects
        code = np.where(advances, 1, np.where(decided, 2, 0)).astype(np.int8)
        segs.append((alive, s, t0, np.where(censored, float(window), t1), kind, code))
        cum = np.cumsum(jumps[o, s], axis=1)
        v = rng_proc.uniform(size=alive.size)
        target = (v[:, None] >= cum).sum(axis=1)
        target = np.minimum(target, k)
        new = np.where(advances, target, np.where(regresses, s - 1, np.where(rejects | lost_stall, LOST_CODE, s)))
        moved = decided | lost_stall
        chg.append((alive[moved], t1[moved], new[moved]))
        n_dec[alive] += decided
        n_reg[alive] += regresses
        stage[alive] = new
        t[alive] = np.where(moved, t1, t0)
        done = censored | lost_stall | rejects | (new == k)
        reason[alive[new == k]] = 1
        reason[alive[rejects]] = 2
        reason[alive[lost_stall]] = 3
        if bar is not None:
            bar.update(int(done.sum()))
        alive = alive[~done]
    if bar is not None:
        bar.close()

    seg = {
        name: np.concatenate([x[i] for x in segs])
        for i, name in enumerate(("deal", "stage", "t0", "t1", "kind", "outcome"))
    }
    changes = {name: np.concatenate([x[i] for x in chg]) for i, name in enumerate(("deal", "t", "stage"))}
    end_time = np.full(n_deals, float(window))
    closed = reason > 0
    end_time[closed] = t[closed]

    activities = _activities(rng_act, rng_rec, seg, owner, owners, rates, p)
    close_changes = _close_dates(rng_close, created, end_time, closed, window, slip, p)
    truth_wp, w0 = _truth(seg, changes, owner, created, rates, adv, reject, jumps, slip, k)
    amount_changes = _amount_changes(rng_amount, created, end_time, amount)

    deals = {
        "owner": owner,
        "created": created,
        "amount": amount,
        "quality": quality,
        "end": end_time,
        "final_stage": stage,
        "win_probability_at_creation": w0[:, 0],
    }
    owners["n_deals"] = np.bincount(owner, minlength=n_owners)
    return Raw(
        window, owners, deals, changes, activities, close_changes, truth_wp, n_dec, n_reg, reason, amount_changes
    )


AMOUNT_REVISED_SHARE = 0.3  # share of deals whose amount is revised while they are worked
AMOUNT_REVISION_SPREAD = 0.25  # log-normal sigma of the amount at creation around the final amount


def _amount_changes(rng: np.random.Generator, created: np.ndarray, end: np.ndarray, amount: np.ndarray) -> dict:
    """The amount history: one row at creation; revised deals get one or two later rows ending at ``amount``.

    ``amount`` (the deals table's) stays each deal's final amount; a revised deal starts at that amount times a
    log-normal factor, and its revisions fall uniformly between creation and its close (or the window's end).
    """
    n = created.size
    revised = rng.uniform(size=n) < AMOUNT_REVISED_SHARE
    two = rng.uniform(size=n) < 0.5
    start = np.round(amount * np.exp(rng.normal(0, AMOUNT_REVISION_SPREAD, n)), 2)
    middle = np.round((start + amount) / 2 * np.exp(rng.normal(0, AMOUNT_REVISION_SPREAD / 2, n)), 2)
    u = np.sort(rng.uniform(0.05, 0.95, (n, 2)), axis=1)
    span = np.maximum(end - created, 0.0)
    deal_rows = [np.arange(n)]
    t_rows = [created]
    value_rows = [np.where(revised, start, amount)]
    mid = np.flatnonzero(revised & two)
    deal_rows.append(mid)
    t_rows.append(created[mid] + u[mid, 0] * span[mid])
    value_rows.append(middle[mid])
    last = np.flatnonzero(revised)
    deal_rows.append(last)
    t_rows.append(created[last] + u[last, 1] * span[last])
    value_rows.append(amount[last])
    return {"deal": np.concatenate(deal_rows), "t": np.concatenate(t_rows), "amount": np.concatenate(value_rows)}


def _activities(
    rng: np.random.Generator,
    rng_rec: np.random.Generator,
    seg: dict[str, np.ndarray],
    owner: np.ndarray,
    owners: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
    p: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Interactions between movements, the decision interactions, and the replies to inbound messages."""
    pr = p["process"]
    inbound_share = np.asarray(pr["inbound_share"])
    kind_table = np.array([p["kinds"][s] for s in p["stages"]])
    kind_cum = np.cumsum(kind_table / kind_table.sum(axis=1, keepdims=True), axis=1)
    so = owner[seg["deal"]]
    st = seg["stage"]
    span = seg["t1"] - seg["t0"]
    quiet_rate = rates["v"][so, st] * (1.0 - rates["p"][so, st])
    counts = rng.poisson(quiet_rate * span)
    # Interactions without a decision, uniform between the two movements.
    idx = np.repeat(np.arange(len(span)), counts)
    q_time = seg["t0"][idx] + rng.uniform(size=idx.size) * span[idx]
    # One interaction per decision, at the moment of the decision.
    dec = np.flatnonzero(seg["kind"] == 1)
    seg_of = np.concatenate([idx, dec])
    when = np.concatenate([q_time, seg["t1"][dec]])
    is_decision = np.concatenate([np.zeros(idx.size, bool), np.ones(dec.size, bool)])
    stage = st[seg_of]
    inbound = rng.uniform(size=seg_of.size) < inbound_share[stage]
    delay = (
        owners["response_hours"][so[seg_of]] * np.exp(rng.normal(0, 0.5, seg_of.size)) / 24.0
    )  # days to answer an inbound message
    # An inbound decision: the client wrote first, the decision came with the owner's answer.
    in_dec = is_decision & inbound
    ask_time = np.maximum(when[in_dec] - delay[in_dec], seg["t0"][seg_of[in_dec]])
    # An inbound message with no decision gets an answer if the deal has not moved or closed before it.
    in_quiet = ~is_decision & inbound
    reply_time = when[in_quiet] + delay[in_quiet]
    answered = reply_time < seg["t1"][seg_of[in_quiet]]
    # Rows: [interaction rows with their own direction] + [asks before inbound decisions] + [replies].
    n_main = seg_of.size
    row_seg = np.concatenate([seg_of, seg_of[in_dec], seg_of[in_quiet][answered]])
    row_time = np.concatenate([when, ask_time, reply_time[answered]])
    row_inbound = np.concatenate([inbound & ~in_dec, np.ones(in_dec.sum(), bool), np.zeros(answered.sum(), bool)])
    outcome = np.zeros(row_seg.size, dtype=np.int8)  # 0 stayed, 1 advanced, 2 regressed
    outcome[:n_main] = np.where(is_decision, seg["outcome"][seg_of], 0)
    row_stage = st[row_seg]
    kinds = (rng.uniform(size=row_seg.size)[:, None] >= kind_cum[row_stage]).sum(axis=1)
    kinds = np.minimum(kinds, len(KIND_NAMES) - 1).astype(np.int8)
    reply = np.zeros(row_seg.size, bool)
    reply[n_main + in_dec.sum() :] = True
    reply[np.flatnonzero(in_dec)] = True  # the answer that carried an inbound decision
    kinds[reply] = np.where(rng.uniform(size=int(reply.sum())) < 0.8, 1, 0)  # replies: email or call
    row_deal = seg["deal"][row_seg]
    return {
        "deal": row_deal,
        "t": row_time,
        "kind": kinds,
        "inbound": row_inbound,
        "outcome": outcome,
        "is_decision": np.concatenate([is_decision, np.zeros(row_seg.size - n_main, bool)]),
        "missing": rng_rec.uniform(size=row_seg.size) < owners["outcome_missing_share"][owner[row_deal]],
    }


KIND_NAMES = ("call", "email", "meeting", "demo", "proposal")


def _close_dates(
    rng: np.random.Generator,
    created: np.ndarray,
    end: np.ndarray,
    closed: np.ndarray,
    window: int,
    slip: tuple[float, float, float],
    p: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The first forecast at creation, a push each time the forecast lapses, the actual day at close."""
    c = p["close_dates"]
    n = created.size
    first = np.floor(created + c["first_forecast_days"] * np.exp(rng.normal(0, c["first_forecast_spread"], n)))
    deal_rows, t_rows, day_rows = [np.arange(n)], [created], [first]
    current = first.copy()
    last = created.copy()
    pending = np.arange(n)
    # In a slipping quarter, owners push the deals forecast inside it early in the quarter.
    preempt_at = slip[0] + rng.uniform(0, 0.15, n) * (slip[1] - slip[0]) if np.isfinite(slip[0]) else np.full(n, np.inf)
    preempted = np.zeros(n, bool)
    for _ in range(10_000):
        lapse = current[pending] + 1.0 + rng.uniform(0, c["push_lag_days"], pending.size)
        early = (
            ~preempted[pending]
            & (current[pending] >= slip[0])
            & (current[pending] < slip[1])
            & (preempt_at[pending] < lapse)
            & (preempt_at[pending] > last[pending])
        )
        lapse = np.where(early, preempt_at[pending], lapse)
        preempted[pending[early]] = True
        push_median = np.where((lapse >= slip[0]) & (lapse < slip[1]), p["slip"]["push_days"], c["push_days"])
        push = np.maximum(1.0, np.round(push_median * np.exp(rng.normal(0, c["push_spread"], pending.size))))
        due = lapse < end[pending]
        pending, lapse, push = pending[due], lapse[due], push[due]
        if not pending.size:
            break
        new = np.maximum(current[pending] + push, np.floor(lapse) + 1.0)
        last[pending] = lapse
        deal_rows.append(pending)
        t_rows.append(lapse)
        day_rows.append(new)
        current[pending] = new
    if c["record_close"]:
        fix = np.flatnonzero(closed & (current != np.floor(end)))
        deal_rows.append(fix)
        t_rows.append(end[fix])
        day_rows.append(np.floor(end[fix]))
    return {"deal": np.concatenate(deal_rows), "t": np.concatenate(t_rows), "day": np.concatenate(day_rows)}


def _truth(
    seg: dict[str, np.ndarray],
    changes: dict[str, np.ndarray],
    owner: np.ndarray,
    created: np.ndarray,
    rates: dict[str, np.ndarray],
    adv: np.ndarray,
    reject: np.ndarray,
    jumps: np.ndarray,
    slip: tuple[float, float, float],
    k: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """True win probability at creation, at every stage change, and weekly while a deal is open."""
    r, a, b = rates["r"][owner], rates["a"][owner], rates["b"][owner]
    w0 = win_probabilities(r, a, b, adv, reject, jumps[owner])
    w0_slip = w0
    if np.isfinite(slip[0]):
        w0_slip = win_probabilities(r * slip[2], a, b, adv, reject, jumps[owner])

    def at(deal: np.ndarray, stage: np.ndarray, when: np.ndarray, since: np.ndarray) -> np.ndarray:
        in_slip = (when >= slip[0]) & (when < slip[1])
        mult = np.where(in_slip, slip[2], 1.0)
        o = owner[deal]
        rr, aa, bb = rates["r"][o, stage] * mult, rates["a"][o, stage], rates["b"][o, stage]
        base = np.where(in_slip, w0_slip[deal, stage], w0[deal, stage])
        d_now = decision_probability(rr, aa, bb, since)
        d_zero = decision_probability(rr, aa, bb, np.zeros_like(since))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d_zero > 0, base * d_now / d_zero, 0.0)

    # Weekly snapshots (week 0 is the creation) inside every segment between movements.
    dc = created[seg["deal"]]
    j_lo = np.ceil((seg["t0"] - dc) / 7.0 - 1e-9)
    j_hi = np.ceil((seg["t1"] - dc) / 7.0 - 1e-9) - 1
    n = np.maximum(j_hi - j_lo + 1, 0).astype(np.int64)
    idx = np.repeat(np.arange(n.size), n)
    offset = np.arange(idx.size) - np.repeat(np.cumsum(n) - n, n)
    weeks = j_lo[idx] + offset
    deal = seg["deal"][idx]
    when = created[deal] + 7.0 * weeks
    stage = seg["stage"][idx]
    since = when - seg["t0"][idx]
    wp = at(deal, stage, when, since)
    event = np.where(weeks == 0, 0, 1).astype(np.int8)  # 0 created, 1 weekly, 2 stage change

    moved = changes["t"] > created[changes["deal"]]  # drop the creation rows (covered by week 0)
    cd, ct, cs = changes["deal"][moved], changes["t"][moved], changes["stage"][moved]
    open_ = (cs >= 0) & (cs < k)
    cp = np.where(cs == k, 1.0, 0.0)
    cp[open_] = at(cd[open_], cs[open_], ct[open_], np.zeros(int(open_.sum())))
    return (
        {
            "deal": np.concatenate([deal, cd]),
            "t": np.concatenate([when, ct]),
            "stage": np.concatenate([stage, cs]),
            "since": np.concatenate([since, np.zeros(cd.size)]),
            "p": np.concatenate([wp, cp]),
            "event": np.concatenate([event, np.full(cd.size, 2, np.int8)]),
        },
        w0,
    )
