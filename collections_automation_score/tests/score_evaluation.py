"""The payment score on simulated ledgers (see ledger_simulation.py), for
``make score-eval`` (not part of ``make test``: a year of three seeds takes
minutes; test_payment_score.py trains on a shorter ledger).

For each seed (``SEED``, ``CUSTOMERS``, ``DAYS``), the score trains on the
ledger but its last 91 days and is measured on them; it keeps the figures
it promises: an AUC of at least MIN_AUC and MIN_AUC_GAIN above the
baseline's, and a pay-date error MIN_DATE_GAIN below the baseline's."""

import logging
import os
from datetime import timedelta
from pathlib import Path

from odoo.addons.collections_automation.tests.common import CollectionsCommon
from odoo.tests import tagged

from .ledger_simulation import START, LedgerSimulation

_logger = logging.getLogger(__name__)

DAYS = 365
CUSTOMERS = 300
SEEDS = "1,2,3"
MIN_AUC = 0.80
MIN_AUC_GAIN = 0.05
MIN_DATE_GAIN = 0.15


def format_report(results, customers, days):
    lines = [
        f"Payment score on simulated ledgers: {customers} customers, {days} days, the last 91 days held out",
        "",
        "| seed | invoices | held out (late) | AUC model / baseline | AUC when issued | AUC on the due date "
        "| Brier model / baseline | pay-date error, days, model / baseline | 80% interval coverage "
        "| training |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, training in results:
        parts = training["holdout_breakdown"] or {}
        moments = [
            "{:.3f} / {:.3f}".format(
                *(
                    parts.get(moment, {}).get(predictor, {}).get("auc") or 0.0
                    for predictor in ("model", "baseline")
                )
            )
            for moment in ("issue", "due")
        ]
        lines.append(
            "| {seed} | {invoice_count} | {holdout_rows} ({holdout_late_rows}) "
            "| {model_auc:.3f} / {baseline_auc:.3f} | {issue} | {due} "
            "| {model_brier:.3f} / {baseline_brier:.3f} "
            "| {model_date_error:.1f} / {baseline_date_error:.1f} | {model_interval_coverage:.2f} "
            "| {duration:.1f} s |".format(seed=seed, issue=moments[0], due=moments[1], **training)
        )
    return "\n".join(lines)


@tagged("post_install", "-at_install")
class TestScoreEvaluation(CollectionsCommon):
    def test_the_score_keeps_its_promises_on_simulated_ledgers(self):
        days = int(os.environ.get("COLLECTIONS_SCORE_DAYS") or DAYS)
        customers = int(os.environ.get("COLLECTIONS_SCORE_CUSTOMERS") or CUSTOMERS)
        seeds = [int(seed) for seed in (os.environ.get("COLLECTIONS_SCORE_SEED") or SEEDS).split(",")]
        results = []
        for seed in seeds:
            # Each seed starts from the same fixtures: its ledger is rolled back.
            savepoint = self.env.cr.savepoint()
            try:
                simulation = LedgerSimulation(self.env, seed, customers, days)
                simulation.plan()
                simulation.write_books(self.standard_process)
                training = self.env["collection.score.model"]._train(
                    self.env.company, today=START + timedelta(days=days)
                )
                results.append((seed, training.read()[0]))
            finally:
                self.env.flush_all()
                savepoint.close(rollback=True)
                self.env.invalidate_all()
        report = format_report(results, customers, days)
        _logger.info("payment score:\n%s", report)
        if report_path := os.environ.get("COLLECTIONS_SCORE_REPORT"):
            Path(report_path).write_text(report + "\n", encoding="utf-8")
        for seed, training in results:
            with self.subTest(seed=seed):
                self.assertEqual(training["late_predictor"], "model")
                self.assertGreaterEqual(training["model_auc"], MIN_AUC)
                self.assertGreaterEqual(training["model_auc"] - training["baseline_auc"], MIN_AUC_GAIN)
                self.assertLessEqual(
                    training["model_date_error"], (1 - MIN_DATE_GAIN) * training["baseline_date_error"]
                )
