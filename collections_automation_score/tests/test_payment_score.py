import base64
import contextlib
import logging
from datetime import timedelta
from unittest.mock import patch

import threadpoolctl

from odoo.addons.collections_automation.tests.common import DAY_0, CollectionsCommon
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..models.collection_score_model import HOLDOUT_DAYS
from ..scoring import learner
from .ledger_simulation import START, LedgerSimulation

SEED = 1
CUSTOMERS = 100
DAYS = 300


@tagged("post_install", "-at_install")
class TestPaymentScore(CollectionsCommon):
    """A company with ten months of a simulated ledger, trained and scored
    on its last day."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulation = LedgerSimulation(cls.env, SEED, CUSTOMERS, DAYS)
        cls.simulation.plan()
        cls.simulation.write_books(cls.standard_process)
        cls.today = START + timedelta(days=DAYS)
        cls.Score = cls.env["collection.score.model"]
        # The clock is not frozen around training: scikit-learn's threads
        # wait on it.
        cls.training = cls.Score._train(cls.env.company, cls.today)
        cls.Score._score_customers(cls.env.company, today=cls.today)
        cls.partners = cls.env["res.partner"].browse(
            [customer.partner.id for customer in cls.simulation.customers]
        )

    def _open_invoices(self):
        return self.env["account.move"].search(
            [
                ("partner_id", "in", self.partners.ids),
                ("move_type", "=", "out_invoice"),
                ("payment_state", "in", ("not_paid", "partial")),
            ]
        )

    def _customers(self, behaviour):
        return self.env["res.partner"].browse(
            [customer.partner.id for customer in self.simulation.customers if customer.behaviour == behaviour]
        )

    def test_the_model_is_measured_on_months_it_did_not_learn_from(self):
        training = self.training
        self.assertEqual(training.as_of, self.today)
        self.assertEqual(training.holdout_from, self.today - timedelta(days=HOLDOUT_DAYS))
        self.assertGreater(training.holdout_rows, 100)
        self.assertGreater(training.model_auc, training.baseline_auc)
        self.assertLessEqual(training.model_brier, training.baseline_brier)
        self.assertEqual((training.late_predictor, training.predictor_reason), ("model", "better"))
        self.assertEqual(len(training.calibration["model"]), 10)
        self.assertEqual(len(training.calibration["baseline"]), 10)
        self.assertEqual(training.customer_count, CUSTOMERS)
        again = self.Score._train(self.env.company, self.today)
        self.assertEqual(again.model_auc, training.model_auc, "the same ledger trains the same model")
        self.assertEqual(self.Score._get_current(self.env.company), again)

    def test_each_open_invoice_gets_a_probability_and_a_pay_date_interval(self):
        invoices = self._open_invoices()
        self.assertTrue(invoices)
        for invoice in invoices:
            self.assertTrue(0 <= invoice.collection_late_probability <= 1)
            self.assertTrue(
                self.today
                <= invoice.collection_pay_date_from
                <= invoice.collection_predicted_pay_date
                <= invoice.collection_pay_date_to,
                invoice.display_name,
            )
            if (self.today - invoice.invoice_date_due).days >= 15:
                self.assertEqual(invoice.collection_late_probability, 1.0, "it is late already")
        not_due = invoices.filtered(lambda invoice: invoice.invoice_date_due > self.today)
        self.assertTrue(not_due)
        self.assertTrue(any(0 < invoice.collection_late_probability < 1 for invoice in not_due))

    def test_each_customer_gets_a_band_and_the_slow_ones_a_worse_one(self):
        for partner in self.partners:
            self.assertIn(partner.collection_score_band, "ABCD")
            self.assertTrue(partner.collection_score_factors, partner.name)
            self.assertEqual(partner.collection_score_date, self.today)
        punctual = self._customers("punctual").mapped("collection_late_probability")
        slow = self._customers("slow").mapped("collection_late_probability")
        self.assertLess(sum(punctual) / len(punctual), sum(slow) / len(slow))

    def test_an_overdue_invoice_shows_in_its_customers_factors(self):
        """The factors are what moved the score: a customer who had nothing
        overdue gets an invoice three weeks overdue, and the factor appears."""
        partner = next(
            partner
            for partner in self._customers("punctual")
            if not self._open_invoices().filtered(
                lambda invoice, partner=partner: invoice.partner_id == partner
                and invoice.invoice_date_due < self.today
            )
        )
        self.assertNotIn("overdue", partner.collection_score_factors or "")
        before = partner.collection_late_probability
        with self._at(self.today):
            invoice = self._create_invoice(900.0, due_date=self.today - timedelta(days=21), partner=partner)
        self.Score._score_customers(self.env.company, partner, self.today)
        self.assertGreater(partner.collection_late_probability, before)
        self.assertIn("This invoice: 21 days overdue", partner.collection_score_factors)
        self.assertEqual(invoice.collection_late_probability, 1.0)

    def _override(self, user, band, reason):
        Override = self.env["collection.score.override"].with_user(user)
        wizard = Override.with_context(active_id=self.partner.id).create({"band": band, "reason": reason})
        wizard.action_apply()

    def test_a_band_set_by_hand_wins_until_removed(self):
        self.partner = partner = self._customers("slow")[0]
        computed = partner.collection_score_band
        self.assertIn(computed, "BCD")
        with self.assertRaises(ValidationError):
            self._override(self.collections_manager, "A", False)
        self._override(self.collections_manager, "A", "Paid by bank guarantee")
        self.assertEqual(partner.collection_score_band, "A")
        # Odoo logs tracked changes before the commit a test never makes.
        self.env.cr.precommit.run()
        tracking = partner.message_ids[0]
        self.assertEqual(tracking.author_id, self.collections_manager.partner_id)
        self.assertIn("Paid by bank guarantee", tracking.tracking_value_ids.mapped("new_value_char"))
        self.Score._score_customers(self.env.company, partner, self.today)
        self.assertEqual(partner.collection_score_band, "A", "the override wins over a new score")
        with self.assertRaises(AccessError):
            self._override(self.collections_user, "D", "Not mine to say")
        self._override(self.collections_manager, False, False)
        self.assertEqual(partner.collection_score_band, computed)
        self.assertFalse(partner.sudo().collection_score_override_reason)

    def test_a_collections_user_without_invoicing_sees_the_cash_forecast(self):
        # The KPI screen is the collections team's: its figures sum the
        # company's invoices, which a collector need not be allowed to open.
        collector = new_test_user(
            self.env,
            login="bare_collector",
            groups="collections_automation.collections_automation_group_user",
        )
        with self.assertRaises(AccessError):
            self.env["account.move"].with_user(collector).search([], limit=1)
        with self._at(self.today):
            mine = self.env["collection.dashboard"].create({}).cash_forecast
            theirs = self.env["collection.dashboard"].with_user(collector).create({}).cash_forecast
        self.assertEqual(theirs, mine)
        self.assertIn("o_collection_forecast_week", str(theirs))

    def test_posting_and_paying_score_the_customer_again(self):
        partner = self._customers("punctual")[0]
        partner.collection_score_stale = False
        cron = self.env.ref("collections_automation_score.ir_cron_collection_score_customers")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        with self._at(self.today):
            invoice = self._create_invoice(500.0, due_date=self.today + timedelta(days=30), partner=partner)
            self.assertTrue(partner.collection_score_stale)
            self.assertGreater(
                self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
            )
        self.Score._cron_score_customers()
        self.assertFalse(partner.collection_score_stale)
        self.assertTrue(invoice.collection_predicted_pay_date)
        with self._at(self.today):
            self._pay(invoice, day=self.today)
        self.assertTrue(partner.collection_score_stale)

    def test_an_altered_model_is_not_loaded(self):
        training = self.training.sudo()
        self.assertIn("model", training._load_predictors())
        payload = bytearray(base64.b64decode(training.with_context(bin_size=False).payload))
        payload[-8] ^= 1
        training.payload = base64.b64encode(bytes(payload))
        with self.assertLogs("odoo.addons.collections_automation_score", logging.WARNING):
            self.assertEqual(training._load_predictors(), {})
        self.Score._score_customers(self.env.company, self.partners[:1], self.today)

    def test_training_and_scoring_keep_to_one_thread(self):
        """scikit-learn's native code runs on one thread, whatever the
        process allows: its threads, waiting for each other, made a
        training forty times slower when another worker used a core."""
        threads = []

        def recording(method):
            def record(estimator, *args, **kwargs):
                threads.extend(
                    pool["num_threads"]
                    for pool in threadpoolctl.threadpool_info()
                    if pool["user_api"] == "openmp"
                )
                return method(estimator, *args, **kwargs)

            return record

        classes = (learner.HistGradientBoostingClassifier, learner.HistGradientBoostingRegressor)
        with contextlib.ExitStack() as stack:
            stack.enter_context(threadpoolctl.threadpool_limits(limits=2))
            for cls in classes:
                for name in ("fit", "predict", "predict_proba"):
                    if hasattr(cls, name):
                        stack.enter_context(patch.object(cls, name, recording(getattr(cls, name))))
            self.Score._train(self.env.company, self.today)
            self.Score._score_customers(self.env.company, today=self.today)
        self.assertTrue(threads)
        self.assertEqual(set(threads), {1})


@tagged("post_install", "-at_install")
class TestPaymentScoreWithLittleHistory(CollectionsCommon):
    def test_with_little_history_the_baseline_predicts_and_says_so(self):
        paid = self._create_invoice(100.0, due_date=DAY_0)
        self._pay(paid, day=DAY_0 + timedelta(days=20))
        open_invoice = self._create_invoice(300.0, due_date=DAY_0 + timedelta(days=40))
        Score = self.env["collection.score.model"]
        training = Score._train(self.env.company, DAY_0 + timedelta(days=30))
        Score._score_customers(self.env.company, today=DAY_0 + timedelta(days=30))
        self.assertEqual(
            (training.late_predictor, training.date_predictor, training.predictor_reason),
            ("baseline", "baseline", "little_history"),
        )
        self.assertEqual(open_invoice.collection_predicted_pay_date, DAY_0 + timedelta(days=60))
        self.assertIn("Paid 1 of 1 invoices 15 days late or more", self.customer.collection_score_factors)
        self.assertEqual(self.customer.collection_score_date, DAY_0 + timedelta(days=30))

    def test_scoring_leaves_the_invoice_as_the_accounting_wrote_it(self):
        """The score is kept beside the invoice: scoring does not go through
        the accounting's write (which marked the invoice as modified by
        hand and synchronised its lines again); the amount at risk of its
        collection follows it, and an invoice paid or back to draft loses
        it."""
        paid = self._create_invoice(100.0, due_date=DAY_0)
        self._pay(paid, day=DAY_0 + timedelta(days=20))
        open_invoice = self._create_invoice(300.0, due_date=DAY_0 + timedelta(days=40))
        second = self._create_invoice(200.0, due_date=DAY_0 + timedelta(days=50))
        enrollment = open_invoice.collection_enroll(process_id=self.standard_process.id)
        Score = self.env["collection.score.model"]
        Move = type(self.env["account.move"])
        with patch.object(Move, "write", autospec=True, side_effect=AssertionError("an invoice was written")):
            Score._score_customers(self.env.company, today=DAY_0 + timedelta(days=30))
            self.env.flush_all()
        for invoice in open_invoice | second:
            self.assertTrue(invoice.collection_predicted_pay_date)
            self.assertFalse(invoice.is_manually_modified)
        self.assertGreater(open_invoice.collection_late_probability, 0)
        self.assertAlmostEqual(
            enrollment.score_amount_at_risk, 300.0 * open_invoice.collection_late_probability, places=2
        )
        self._pay(second, day=DAY_0 + timedelta(days=31))
        open_invoice.button_draft()
        Score._score_customers(self.env.company, today=DAY_0 + timedelta(days=31))
        for invoice in open_invoice | second:
            self.assertFalse(invoice.collection_predicted_pay_date)
            self.assertFalse(invoice.collection_late_probability)
        scores = self.env["collection.invoice.score"].search([("company_id", "=", self.env.company.id)])
        self.assertFalse(scores)
        self.assertEqual(enrollment.score_amount_at_risk, 0.0)

    def test_a_payment_request_is_as_risky_as_its_customer(self):
        """A payment request without an invoice (an amount owed outside
        Odoo's invoices) has its customer's probability and band, and the
        amount at risk they give."""
        paid = self._create_invoice(100.0, due_date=DAY_0)
        self._pay(paid, day=DAY_0 + timedelta(days=20))
        request = self.env["collection.enrollment"].create_payment_request(
            {
                "partner_id": self.customer.id,
                "amount": 400.0,
                "due_date": DAY_0 + timedelta(days=40),
                "process_id": self.standard_process.id,
            }
        )
        self.env["collection.score.model"]._score_customers(
            self.env.company, today=DAY_0 + timedelta(days=30)
        )
        probability = self.customer.collection_late_probability
        self.assertGreater(probability, 0)
        self.assertEqual(request.score_late_probability, probability)
        self.assertAlmostEqual(request.score_amount_at_risk, 400.0 * probability, places=2)
        self.assertEqual(request.score_band, self.customer.collection_score_computed_band)
        self.customer.write(
            {"collection_score_band_override": "D", "collection_score_override_reason": "Court case pending"}
        )
        self.assertEqual(request.score_band, "D")
