"""A benchmark's verdict is decided by what the run measured beyond its
noise: a difference inside the noise neither fails a target nor passes
it unnoticed (the interval is printed with it)."""

import random

import pytest
from bench_verdict import Verdict, interval, p95, percentile, rate, ratio_interval


def _latencies(median_ms, count, seed):
    """Page latencies as a loaded server gives them: skewed, a long tail."""
    rng = random.Random(seed)
    return [median_ms * rng.lognormvariate(0, 0.35) for _ in range(count)]


def test_two_pages_half_a_percent_apart_in_noisy_samples_are_not_judged_different():
    """make load once missed by 0.2%: a median of 670.1 ms against 668.6 ms."""
    ours, odoos = _latencies(670.1, 300, seed=1), _latencies(668.6, 300, seed=2)
    verdict = Verdict(*ratio_interval(ours, odoos), limit=1.0)
    assert verdict.low < 1.0 < verdict.high
    assert not verdict.missed
    assert verdict.word == "met, within the run's noise"


def test_a_page_a_fifth_slower_misses_no_slower_than_the_other():
    ours, odoos = _latencies(800.0, 300, seed=1), _latencies(668.6, 300, seed=2)
    verdict = Verdict(*ratio_interval(ours, odoos), limit=1.0)
    assert verdict.missed
    assert 1.0 < verdict.low <= verdict.estimate <= verdict.high


def test_a_page_a_fifth_faster_meets_it_beyond_doubt():
    ours, odoos = _latencies(550.0, 300, seed=1), _latencies(668.6, 300, seed=2)
    verdict = Verdict(*ratio_interval(ours, odoos, statistic=p95), limit=1.0)
    assert verdict.word == "met"
    assert verdict.high < 1.0


def test_a_figure_against_a_limit_is_judged_on_its_interval():
    timings = [26.2, 27.0, 26.5, 26.9, 26.4]
    assert Verdict(*interval(timings), limit=30).word == "met"
    assert Verdict(*interval(timings), limit=26.6).word == "met, within the run's noise"
    assert Verdict(*interval(timings), limit=26.1).missed


def test_a_throughput_is_judged_against_its_floor_on_the_runs_batches():
    """make bench: actions per second over the batches the engine committed,
    each batch a sample."""
    batches = [(500, 1.40), (500, 1.55), (500, 1.38), (500, 1.62), (500, 1.47), (125, 0.36)]
    figures = interval(batches, statistic=rate)
    assert figures[0] == pytest.approx(2625 / 7.78)
    assert Verdict(*figures, limit=300, at_least=True).word == "met"
    assert Verdict(*figures, limit=340, at_least=True).word == "met, within the run's noise"
    assert Verdict(*figures, limit=380, at_least=True).missed
    assert (
        Verdict(*figures, limit=380, at_least=True)
        .describe("actions/s", digits=0)
        .endswith("target at least 380: missed")
    )


def test_the_same_samples_give_the_same_verdict():
    ours, odoos = _latencies(670.0, 100, seed=3), _latencies(660.0, 100, seed=4)
    assert ratio_interval(ours, odoos) == ratio_interval(list(ours), list(odoos))
    assert interval(ours) == interval(list(ours))


def test_the_interval_is_printed_beside_the_verdict():
    verdict = Verdict(estimate=1.003, low=0.97, high=1.04, limit=1.0)
    assert verdict.describe("median, ours / Odoo's", unit="x") == (
        "median, ours / Odoo's 1.00x (90% interval 0.97x to 1.04x), target at most 1.00x: "
        "met, within the run's noise"
    )


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.95) == 95
    assert p95([3.0]) == 3.0


def test_five_runs_give_their_range_as_the_interval_of_their_median():
    """make bench-score's five runs: the range holds the true median 94 times
    in 100 (it misses only when all five fall on one side of it)."""
    assert interval([27.3, 26.7, 27.8, 27.0, 27.5]) == (27.3, 26.7, 27.8)


def test_no_samples_is_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="no samples"):
        interval([])
    with pytest.raises(ValueError, match="no samples"):
        ratio_interval([1.0], [])
