"""The lifecycle simulation (see simulation.py).

``make test`` runs a short history on a few seeds; ``make simulate`` runs
a long one, with ``DAYS``, ``CUSTOMERS`` and ``SEED`` (several seeds with
commas), and prints the table of invariants."""

import logging
import os
from pathlib import Path

from odoo.tests import tagged

from .common import CollectionsCommon
from .simulation import LifecycleSimulation, format_report

_logger = logging.getLogger(__name__)

SHORT_DAYS = 120
SHORT_CUSTOMERS = 30
SHORT_SEEDS = "1,2,3"


@tagged("post_install", "-at_install")
class TestLifecycleSimulation(CollectionsCommon):
    def test_a_simulated_history_holds_every_invariant(self):
        days = int(os.environ.get("COLLECTIONS_SIM_DAYS") or SHORT_DAYS)
        customers = int(os.environ.get("COLLECTIONS_SIM_CUSTOMERS") or SHORT_CUSTOMERS)
        seeds = [int(seed) for seed in (os.environ.get("COLLECTIONS_SIM_SEED") or SHORT_SEEDS).split(",")]
        results = []
        for seed in seeds:
            # Each seed starts from the same fixtures: its history is rolled back.
            savepoint = self.env.cr.savepoint()
            try:
                results.append((seed, LifecycleSimulation(self, seed, customers, days).run()))
            finally:
                self.env.flush_all()
                savepoint.close(rollback=True)
                self.env.invalidate_all()
                self.env.registry.clear_cache()
        report = format_report(results, customers, days)
        _logger.info("lifecycle simulation:\n%s", report)
        if report_path := os.environ.get("COLLECTIONS_SIM_REPORT"):
            Path(report_path).write_text(report + "\n", encoding="utf-8")
        self.assertEqual(len(results), len(seeds), report)
