"""Benchmark verdicts that survive the machine's noise.

A benchmark on a shared 2-core machine measures the same thing a little
differently every time. A verdict drawn from one figure against a limit is
decided by that noise when the two are close (the payment page once
"missed" being no slower than Odoo's page by 0.2%). Here a verdict is drawn
from repeated samples of the same run: a bootstrap interval of the figure
(or of the ratio of two figures), and a target is missed only when the whole
interval is beyond it, that is when the run shows with 95% confidence that
it is. The interval is printed beside the verdict. Standard library only:
``tools/devenv.py`` runs on the system's Python.
"""

import math
import random
import statistics
from dataclasses import dataclass

# Two-sided: a miss is the interval's near end beyond the limit, a 95%
# one-sided confidence that the target is missed.
CONFIDENCE = 0.90
RESAMPLES = 2000
# Fixed: the same samples give the same interval and the same verdict.
SEED = 20261207


def percentile(values, share):
    """The nearest-rank ``share`` percentile of ``values`` (0.95: p95)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(len(ordered) * share) - 1, 0)]


def p95(values):
    return percentile(values, 0.95)


def rate(samples):
    """The rate of ``samples`` [(count, seconds)]: their count over their
    time (a run's batches: its actions per second)."""
    return sum(count for count, _seconds in samples) / sum(seconds for _count, seconds in samples)


def _bootstrap(statistic_of_resample, resamples, rng):
    estimates = [statistic_of_resample(rng) for _ in range(resamples)]
    tail = (1 - CONFIDENCE) / 2
    return percentile(estimates, tail), percentile(estimates, 1 - tail)


def _resample(values, rng):
    return rng.choices(values, k=len(values))


def _estimate_interval(estimate, sides, resamples):
    """(estimate, low, high): ``estimate(*sides)`` and its bootstrap
    interval, each side of samples resampled on its own."""
    sides = [list(samples) for samples in sides]
    if not all(sides):
        raise ValueError("no samples to judge")
    rng = random.Random(SEED)
    low, high = _bootstrap(
        lambda rng: estimate(*(_resample(samples, rng) for samples in sides)), resamples, rng
    )
    return estimate(*sides), low, high


def interval(samples, statistic=statistics.median, resamples=RESAMPLES):
    """(estimate, low, high): ``statistic`` of ``samples`` and its
    bootstrap interval."""
    return _estimate_interval(statistic, [samples], resamples)


def ratio_interval(numerators, denominators, statistic=statistics.median, resamples=RESAMPLES):
    """(ratio, low, high): ``statistic`` of ``numerators`` over that of
    ``denominators``, and its bootstrap interval (each side resampled on
    its own: the two are measured in the same run, not in pairs)."""
    return _estimate_interval(
        lambda tops, bottoms: statistic(tops) / statistic(bottoms), [numerators, denominators], resamples
    )


@dataclass(frozen=True)
class Verdict:
    """A figure's interval against a target: at most ``limit`` (at least,
    with ``at_least``)."""

    estimate: float
    low: float
    high: float
    limit: float
    at_least: bool = False

    @property
    def missed(self):
        return self.high < self.limit if self.at_least else self.low > self.limit

    @property
    def word(self):
        if self.missed:
            return "missed"
        within = self.low >= self.limit if self.at_least else self.high <= self.limit
        return "met" if within else "met, within the run's noise"

    def describe(self, name, unit="", digits=2):
        def show(value):
            return f"{value:.{digits}f}{unit}"

        bound = "at least" if self.at_least else "at most"
        return (
            f"{name} {show(self.estimate)} ({CONFIDENCE:.0%} interval {show(self.low)} to "
            f"{show(self.high)}), target {bound} {show(self.limit)}: {self.word}"
        )
