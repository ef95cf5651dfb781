"""Cash-in by week, from each open invoice's predicted pay dates.

Each invoice's pay day is drawn from the distribution its three predicted
quantiles (10th, 50th, 90th percentile) describe, linear between them, a
tail on each side as wide as the nearer half-interval; the weekly sums of
many draws give each week's expected receipts and their 80% interval. The
draws are independent: a shock that delays every customer at once (a
holiday, a crisis) is not in them, which is why the forecasts are kept and
compared with what came in.
"""

import numpy as np

DRAWS = 400
# Invoices drawn at once: bounds memory (CHUNK times DRAWS days).
CHUNK = 5000
INTERVAL = (10, 90)


def draw_days(quantile_days, rng, draws=DRAWS):
    """``draws`` pay days per invoice (rows of (p10, p50, p90) days)."""
    low, middle, high = (quantile_days[:, column].astype(np.float64)[:, None] for column in range(3))
    knots_u = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    u = rng.random((len(quantile_days), draws))
    first = low - (middle - low) / 4
    last = high + (high - middle) / 4
    knots = [first, low, middle, high, last]
    days = np.empty_like(u)
    for left in range(4):
        inside = (u >= knots_u[left]) & (u <= knots_u[left + 1])
        share = (u - knots_u[left]) / (knots_u[left + 1] - knots_u[left])
        start = np.broadcast_to(knots[left], u.shape)
        end = np.broadcast_to(knots[left + 1], u.shape)
        days = np.where(inside, start + share * (end - start), days)
    return np.rint(days).astype(np.int64)


def weekly_receipts(amounts, quantile_days, first_day, weeks, seed=0):
    """(expected, low, high) arrays of the receipts of each of ``weeks``
    weeks from ``first_day`` (a day number)."""
    rng = np.random.default_rng(seed)
    totals = np.zeros((DRAWS, weeks + 1))
    for start in range(0, len(amounts), CHUNK):
        chunk = slice(start, start + CHUNK)
        days = draw_days(quantile_days[chunk], rng)
        week = np.clip((days - first_day) // 7, -1, weeks)
        # Before the first week (a pay day already passed) counts in the
        # first; after the last, in none of them.
        week = np.where(week < 0, 0, week)
        index = np.arange(DRAWS)[None, :] * (weeks + 1) + week
        weights = np.broadcast_to(amounts[chunk][:, None], index.shape)
        totals += np.bincount(index.ravel(), weights.ravel(), minlength=DRAWS * (weeks + 1)).reshape(
            DRAWS, weeks + 1
        )
    totals = totals[:, :weeks]
    low, high = np.percentile(totals, INTERVAL, axis=0)
    return totals.mean(axis=0), low, high
