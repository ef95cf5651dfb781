"""Learning who pays late, and when, from the features of past invoices.

Two predictions per invoice: the probability that it is paid LATE_DAYS or
more after its due date (a gradient-boosted classifier), and the delay from
the due date to the payment, as its 10th, 50th and 90th percentiles (three
gradient-boosted quantile regressions), which give the predicted pay date and
its 80% interval.

The baseline every model is measured against is what a collector does by
hand: each customer's own past, the company's for a new customer (the share
of its invoices paid LATE_DAYS or more late, its average delay).

scikit-learn's histogram gradient boosting is the choice: it handles
missing values (a new customer has no average delay) and mixed scales
without preparation, trains on 100,000 rows in seconds on two cores, has a
quantile loss for the interval, and is one pinned wheel with numpy and
scipy, in Debian and every Python distribution.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from .features import FEATURE_GROUPS, FEATURE_NAMES, FEATURES, LATE_DAYS

QUANTILES = (0.1, 0.5, 0.9)
# Delays beyond a year are cases for a lawyer, not a forecast.
DELAY_RANGE = (-90, 365)
# Below these, the model cannot be told from chance: the baseline is used.
MIN_TRAINING_ROWS = 200
MIN_TRAINING_CLASS = 20
MIN_HOLDOUT_ROWS = 50
MIN_HOLDOUT_CLASS = 5
# The baseline's estimate for a customer with little history leans on the
# company's: as if it had this many invoices at the company's rate.
BASELINE_PRIOR_INVOICES = 2
# The quantile regressions learn from at most this many rows, drawn at
# random (seeded): their fitting time grows with every row, their error
# hardly (on a simulated ledger's held-out months, learning from 2,000 of
# its paid invoices' rows instead of all raised the pay-date error by 2%).
QUANTILE_ROWS = 40_000
# The delay quantiles of an invoice this many days overdue, at most.
REMAINING_DAYS = 180

_BOOSTING = {
    "learning_rate": 0.03,
    "max_iter": 200,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 60,
    "l2_regularization": 1.0,
    # Deterministic: the same ledger trains the same model.
    "early_stopping": False,
    "random_state": 0,
}
_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}


def one_thread(method):
    """Run ``method`` with scikit-learn's native code on one thread. Its
    OpenMP threads, one per core, wait for each other at every split: where
    an Odoo worker shares the cores with others, a training that takes 3 s
    on one thread took 115 s on two (2,000 invoices, the other core busy)."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        with threadpool_limits(limits=1):
            return method(*args, **kwargs)

    return limited


@dataclass
class Evaluation:
    """Quality on invoices the predictor did not learn from."""

    rows: int = 0
    late_rows: int = 0
    auc: float = float("nan")
    brier: float = float("nan")
    # [(mean predicted probability, share paid late, rows)] by decile.
    calibration: list = field(default_factory=list)
    paid_rows: int = 0
    date_error: float = float("nan")  # mean absolute error, days
    interval_coverage: float = float("nan")

    def as_dict(self):
        """The figures, an unknown one (NaN) as None: JSON has no NaN."""
        return {
            name: None if isinstance(value, float) and np.isnan(value) else value
            for name, value in self.__dict__.items()
        }


class Baseline:
    """Each customer's own past; the company's for a new one."""

    def __init__(self, late_rate, mean_delay, spread=(0.0, 0.0)):
        self.late_rate = float(late_rate)
        self.mean_delay = float(mean_delay)
        # How far from their customer's average delay the company's invoices
        # are paid (10th and 90th percentiles): the baseline's interval.
        self.spread = spread

    @classmethod
    def fit(cls, features, late, delays, moments=None):
        known = ~np.isnan(delays)
        own = features[:, _INDEX["mean_delay"]]
        deviations = (delays - own)[known & ~np.isnan(own)]
        low, high = np.quantile(deviations, (QUANTILES[0], QUANTILES[2])) if len(deviations) else (0.0, 0.0)
        return cls(
            late.mean() if len(late) else 0.0,
            np.median(delays[known]) if known.any() else 0.0,
            (min(float(low), 0.0), max(float(high), 0.0)),
        )

    def late_probability(self, features):
        count = features[:, _INDEX["settled_count"]]
        share = np.nan_to_num(features[:, _INDEX["late_share"]], nan=0.0)
        prior = BASELINE_PRIOR_INVOICES
        return (share * count + self.late_rate * prior) / (count + prior)

    def delay_quantiles(self, features):
        mean = features[:, _INDEX["mean_delay"]]
        median = np.where(np.isnan(mean), self.mean_delay, mean)
        return np.column_stack([median + self.spread[0], median, median + self.spread[1]])


class Model:
    """The gradient-boosted predictors, with what explaining and conditioning
    them needs."""

    def __init__(self, classifier, regressors, references, remaining, margin=0.0):
        self.classifier = classifier
        self.regressors = regressors
        # Days added on each side of the quantiles' interval so that it holds
        # 80% of the pay dates it did not learn from (conformal calibration).
        self.margin = margin
        # Per feature, its value for a typical invoice (the training median).
        self.references = references
        # Per number of days overdue, the quantiles of the days still to wait.
        self.remaining = remaining

    @classmethod
    @one_thread
    def fit(cls, features, late, delays, margin=0.0):
        classifier = HistGradientBoostingClassifier(**_BOOSTING).fit(_fit_ready(features), late)
        known = np.flatnonzero(~np.isnan(delays))
        target = np.clip(delays, *DELAY_RANGE)
        with np.errstate(invalid="ignore"):
            references = np.nanmedian(features, axis=0)
        sample = _sample(known, QUANTILE_ROWS)
        return cls(
            classifier,
            _fit_quantiles(features[sample], target[sample]),
            np.nan_to_num(references, nan=0.0),
            remaining_quantiles(target[known]),
            margin,
        )

    @one_thread
    def late_probability(self, features):
        return self.classifier.predict_proba(features)[:, 1]

    @one_thread
    def delay_quantiles(self, features):
        quantiles = _predict_quantiles(self.regressors, features)
        quantiles[:, 0] -= self.margin
        quantiles[:, 2] += self.margin
        return quantiles


def _fit_ready(features):
    """``features`` with its columns of no value at all set to 0:
    scikit-learn cannot bin them (a constant column is never split on, so
    predicting with values there changes nothing)."""
    empty = np.isnan(features).all(axis=0)
    if not empty.any():
        return features
    features = features.copy()
    features[:, empty] = 0.0
    return features


def _fit_quantiles(features, target):
    features = _fit_ready(features)
    return [
        HistGradientBoostingRegressor(loss="quantile", quantile=quantile, **_BOOSTING).fit(features, target)
        for quantile in QUANTILES
    ]


def _predict_quantiles(regressors, features):
    quantiles = np.column_stack([regressor.predict(features) for regressor in regressors])
    # Separately fitted quantiles may cross: sorted, they stay an interval.
    return np.sort(quantiles, axis=1)


def _sample(indexes, size):
    """At most ``size`` of ``indexes``, drawn the same way for the same
    ledger, in their order."""
    if len(indexes) <= size:
        return indexes
    return np.sort(np.random.default_rng(0).choice(indexes, size, replace=False))


def interval_margin(predictor, features, delays, waited):
    """The days to add on each side of ``predictor``'s interval for it to
    hold 80% of the pay dates of these rows, which it did not learn from
    (split conformal calibration). ``delays`` are the delays of the paid
    rows (NaN if unpaid), ``waited`` how long the unpaid ones have waited
    since their due date: an unpaid invoice counts as paid now, so that the
    slowest payers, unpaid yet, are not left out."""
    if len(delays) < MIN_HOLDOUT_ROWS:
        return 0.0
    actual = np.clip(np.where(np.isnan(delays), waited, delays), *DELAY_RANGE)
    quantiles = predictor.delay_quantiles(features)
    outside = np.maximum(quantiles[:, 0] - actual, actual - quantiles[:, 2])
    level = min(1.0, np.ceil((len(actual) + 1) * (QUANTILES[2] - QUANTILES[0])) / len(actual))
    return max(0.0, float(np.quantile(outside, level)))


def remaining_quantiles(delays):
    """Per day overdue k (0..REMAINING_DAYS), the QUANTILES of the days still
    to wait among the invoices that were still unpaid k days after their due
    date."""
    table = np.zeros((REMAINING_DAYS + 1, len(QUANTILES)))
    for overdue in range(REMAINING_DAYS + 1):
        waited = delays[delays > overdue] - overdue
        if len(waited) < 10:
            table[overdue:] = table[overdue - 1] if overdue else 1.0
            break
        table[overdue] = np.quantile(waited, QUANTILES)
    return table


def labels(ledger, indexes, as_of):
    """Whether each invoice was paid LATE_DAYS or more late, as known on
    ``as_of`` (every invoice given must have been due LATE_DAYS days before),
    and its delay if it was paid by then (NaN if not)."""
    due = ledger.due_days[indexes].astype(np.int64)
    settled = ledger.settled_days[indexes].astype(np.int64)
    paid = (settled < as_of) & ~ledger.reversed_flags[indexes]
    late = np.where(paid, settled - due >= LATE_DAYS, True)
    return late.astype(np.int8), np.where(paid, (settled - due).astype(np.float64), np.nan)


def labelled_indexes(ledger, issued_from, as_of):
    """The invoices issued from ``issued_from`` whose lateness is known on
    ``as_of``: due LATE_DAYS days before it, not reversed before."""
    due = ledger.due_days.astype(np.int64)
    return np.flatnonzero(
        (ledger.invoice_days >= issued_from)
        & (due + LATE_DAYS <= as_of)
        & ~(ledger.reversed_flags & (ledger.settled_days < as_of))
    )


# The days after the due date an invoice still open is seen again: when
# collecting starts, and a week later (so that the model knows overdue ones).
TRAINING_CHECKPOINTS = (0, 7)
EVALUATION_CHECKPOINTS = (0,)


def moments_of(ledger, indexes, checkpoints=TRAINING_CHECKPOINTS):
    """The rows an invoice teaches: seen on the day it was issued, and, if
    it was still open then, on its due date plus each of ``checkpoints``
    days, with what was known of it by then. (indexes, moments)"""
    due = ledger.due_days[indexes].astype(np.int64)
    all_indexes, all_moments = [indexes], [ledger.invoice_days[indexes].astype(np.int64)]
    for days in checkpoints:
        moment = due + days
        still_open = (ledger.settled_days[indexes] >= moment) & (moment > ledger.invoice_days[indexes])
        all_indexes.append(indexes[still_open])
        all_moments.append(moment[still_open])
    return np.concatenate(all_indexes), np.concatenate(all_moments).astype(np.int32)


def evaluate(predictor, features, late, delays):
    evaluation = Evaluation(rows=len(late), late_rows=int(late.sum()))
    if not len(late):
        return evaluation
    probability = predictor.late_probability(features)
    if 0 < evaluation.late_rows < len(late):
        evaluation.auc = float(roc_auc_score(late, probability))
    evaluation.brier = float(brier_score_loss(late, probability))
    order = np.argsort(probability, kind="stable")
    evaluation.calibration = [
        (float(probability[part].mean()), float(late[part].mean()), len(part))
        for part in np.array_split(order, 10)
        if len(part)
    ]
    paid = ~np.isnan(delays)
    evaluation.paid_rows = int(paid.sum())
    if paid.any():
        quantiles = predictor.delay_quantiles(features[paid])
        actual = np.clip(delays[paid], *DELAY_RANGE)
        evaluation.date_error = float(np.abs(quantiles[:, 1] - actual).mean())
        evaluation.interval_coverage = interval_coverage(predictor, features[paid], delays[paid])
    return evaluation


def interval_coverage(predictor, features, delays):
    """The share of these paid rows' delays within ``predictor``'s interval."""
    if not len(delays):
        return float("nan")
    quantiles = predictor.delay_quantiles(features)
    actual = np.clip(delays, *DELAY_RANGE)
    return float(((quantiles[:, 0] <= actual) & (actual <= quantiles[:, 2])).mean())


def enough(late, minimum_rows, minimum_class):
    late_count = int(late.sum())
    return len(late) >= minimum_rows and min(late_count, len(late) - late_count) >= minimum_class


def group_effects(predictor, features):
    """For each row, how much each group of facts moves its probability of
    paying late: the probability minus the one with the group's facts set to
    a typical invoice's. {group: array}."""
    base = predictor.late_probability(features)
    effects = {}
    for group in FEATURE_GROUPS:
        columns = [_INDEX[name] for name, of_group in FEATURES.items() if of_group == group]
        typical = features.copy()
        typical[:, columns] = predictor.references[columns]
        effects[group] = base - predictor.late_probability(typical)
    return effects
