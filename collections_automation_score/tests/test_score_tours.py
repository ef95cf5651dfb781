from datetime import datetime, time, timedelta

from odoo.addons.collections_automation.tests.common import ChromiumCase, CollectionsCommon, days
from odoo.tests import tagged

# The desk's day, a Thursday: the tours' pages count from it.
TODAY = days(10)
PAST_INVOICES = 10


@tagged("post_install", "-at_install")
class TestPaymentScoreTours(CollectionsCommon, ChromiumCase):
    """Two customers with ten months of history each, one who pays a month
    late, one who pays on time, each with an open invoice in collections;
    too little history for a model: the baseline scores them."""

    @classmethod
    def setUpClass(cls):
        cls._freeze_class_clock(datetime.combine(TODAY, time(12)))
        super().setUpClass()
        cls.collector = cls._tour_user("score_tour_collector", "account.group_account_invoice")
        cls.manager = cls._tour_user("score_tour_manager", "account.group_account_manager")
        cls.prompt_customer = cls.env["res.partner"].create(
            {"name": "Prompt Payer Ltd", "email": "ap@promptpayer.example.com"}
        )
        for customer, delay in ((cls.customer, 30), (cls.prompt_customer, -2)):
            cls._write_history(customer, delay)
        cls.late_invoice = cls._create_invoice(5000.0, TODAY - timedelta(days=10))
        cls.prompt_invoice = cls._create_invoice(
            8000.0, TODAY + timedelta(days=5), partner=cls.prompt_customer
        )
        enrollments = (cls.late_invoice | cls.prompt_invoice).collection_enroll(
            process_id=cls.standard_process.id
        )
        enrollments.user_id = cls.collector
        Score = cls.env["collection.score.model"]
        Score._score_customers(cls.env.company, today=TODAY)
        cls.training = Score._get_current(cls.env.company)
        # A forecast made two weeks ago, its week over: the KPI screen
        # tracks it against what came in.
        Forecast = cls.env["collection.score.forecast"].sudo()
        last_week = Forecast._week_start(TODAY) - timedelta(weeks=1)
        Forecast.create(
            {
                "company_id": cls.env.company.id,
                "made_on": last_week - timedelta(days=3),
                "week_start": last_week,
                "weeks_ahead": 1,
                "expected": 4000.0,
                "expected_low": 1000.0,
                "expected_high": 6000.0,
            }
        )
        Forecast._refresh(cls.env.company, TODAY)

    @classmethod
    def _write_history(cls, customer, delay):
        """PAST_INVOICES invoices of ``customer``, a month apart, each paid
        ``delay`` days after its due date."""
        invoices = [
            cls._create_invoice(1000.0, TODAY - timedelta(days=330 - 30 * index), partner=customer)
            for index in range(PAST_INVOICES)
        ]
        cls.env["collection.score.demo.loader"]._register_payments(
            [
                (invoice, invoice.amount_residual, invoice.invoice_date_due + timedelta(days=delay))
                for invoice in invoices
            ]
        )

    def test_the_collector_works_the_riskiest_collection_first(self):
        self.assertEqual(
            (self.customer.collection_score_band, self.prompt_customer.collection_score_band), ("D", "A")
        )
        self.start_tour(
            "/odoo/action-collections_automation_score.collection_enrollment_action_worklist",
            "collections_score_worklist_tour",
            login="score_tour_collector",
        )

    def test_a_manager_reads_the_factors_and_sets_the_band_by_hand(self):
        self.start_tour(
            f"/odoo/action-account.res_partner_action_customer/{self.customer.id}",
            "collections_score_override_tour",
            login="score_tour_manager",
        )
        self.assertEqual(self.customer.collection_score_band, "B")
        self.assertEqual(self.customer.sudo().collection_score_override_reason, "Paid by bank guarantee")

    def test_a_manager_reads_the_training_and_trains_again(self):
        cron = self.env.ref("collections_automation_score.ir_cron_collection_score_train")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.start_tour(
            "/odoo/action-collections_automation_score.collection_score_model_action",
            "collections_score_model_tour",
            login="score_tour_manager",
        )
        self.assertGreater(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers)

    def test_the_kpi_screen_forecasts_the_cash_and_tracks_its_error(self):
        self.start_tour(
            "/odoo/action-collections_automation.collection_dashboard_action",
            "collections_score_forecast_tour",
            login="score_tour_manager",
        )
