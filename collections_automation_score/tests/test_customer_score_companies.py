from contextlib import closing
from datetime import timedelta

from odoo import sql_db
from odoo.addons.collections_automation.tests.common import DAY_0, CollectionsCommon, load_migration
from odoo.fields import Command
from odoo.tests import tagged
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

from ..models.collection_score_model import SCORING_LOCK

TODAY = DAY_0 + timedelta(days=60)


@tagged("post_install", "-at_install")
class TestCustomerScoreCompanies(CollectionsCommon):
    """One customer of two companies: it pays the first three weeks late,
    the second on time. Each company scores it on its own ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_late = cls.env.company
        cls.company_prompt = cls.setup_other_company(name="Prompt Books")["company"]
        cls.processes = {
            cls.company_late: cls.standard_process,
            cls.company_prompt: cls.env["collection.process"].create(
                {
                    "name": "Standard",
                    "company_id": cls.company_prompt.id,
                    "stage_ids": [Command.create({"name": "Reminder"})],
                }
            ),
        }
        cls.open_invoices = {}
        for company, pay_delay in ((cls.company_late, 25), (cls.company_prompt, -2)):
            for month in range(2):
                paid = cls._create_invoice(
                    400.0, due_date=DAY_0 + timedelta(days=30 * month - 30), company_id=company.id
                )
                cls._pay(paid, day=paid.invoice_date_due + timedelta(days=pay_delay))
            cls.open_invoices[company] = cls._create_invoice(
                500.0, due_date=TODAY + timedelta(days=10), company_id=company.id
            )
        cls.Score = cls.env["collection.score.model"]
        for company in (cls.company_late, cls.company_prompt):
            cls.Score._train(company, TODAY)
            cls.Score._score_customers(company, today=TODAY)

    def _band_in(self, company):
        return self.customer.with_company(company).collection_score_band

    def test_each_company_shows_its_own_score_of_the_customer(self):
        late = self.customer.with_company(self.company_late)
        prompt = self.customer.with_company(self.company_prompt)
        self.assertGreater(late.collection_late_probability, prompt.collection_late_probability)
        self.assertLess(self._band_in(self.company_prompt), self._band_in(self.company_late))
        self.assertIn("Paid 2 of 2 invoices 15 days late or more", late.collection_score_factors)
        self.assertIn(
            "Paid 0 of 2 invoices 15 days late or more, 2 days before", prompt.collection_score_factors
        )
        self.assertEqual(
            self.env["collection.customer.score"].search_count([("partner_id", "=", self.customer.id)]), 2
        )
        for company in (self.company_late, self.company_prompt):
            Partner = self.env["res.partner"].with_company(company)
            band = self._band_in(company)
            self.assertIn(self.customer, Partner.search([("collection_score_band", "=", band)]))
            self.assertNotIn(self.customer, Partner.search([("collection_score_band", "!=", band)]))
        unscored = self.env["res.partner"].create({"name": "New Customer"})
        self.assertIn(unscored, self.env["res.partner"].search([("collection_score_band", "=", False)]))
        self.assertNotIn(
            self.customer, self.env["res.partner"].search([("collection_score_band", "=", False)])
        )

    def test_a_collection_and_a_segment_rule_read_their_own_companys_score(self):
        late_band, prompt_band = self._band_in(self.company_late), self._band_in(self.company_prompt)
        for company, band in ((self.company_late, late_band), (self.company_prompt, prompt_band)):
            invoice = self.open_invoices[company].with_company(company)
            enrollment = invoice.collection_enroll(process_id=self.processes[company].id)
            self.assertEqual(enrollment.score_band, band)
            rule = self.env["collection.segment.rule"].create(
                {
                    "name": "Risky customers",
                    "company_id": company.id,
                    "process_id": self.processes[company].id,
                    "score_band_ids": [Command.set(self._bands(late_band).ids)],
                }
            )
            fits, _checks = rule._explain(invoice)
            self.assertEqual(fits, company == self.company_late, company.name)
            self.assertEqual(rule._find_process_for_invoices(invoice)[invoice][1] == rule, fits)

    def test_a_band_set_by_hand_is_the_customers_in_every_company(self):
        self.customer.write(
            {"collection_score_band_override": "D", "collection_score_override_reason": "Bankruptcy filed"}
        )
        invoice = self.open_invoices[self.company_prompt].with_company(self.company_prompt)
        enrollment = invoice.collection_enroll(process_id=self.processes[self.company_prompt].id)
        for company in (self.company_late, self.company_prompt):
            self.assertEqual(self._band_in(company), "D")
        self.assertEqual(enrollment.score_band, "D")
        self.customer.write(
            {"collection_score_band_override": False, "collection_score_override_reason": False}
        )
        self.assertEqual(enrollment.score_band, self._band_in(self.company_prompt))

    def test_a_customer_is_scored_again_in_the_companies_it_has_invoices_in(self):
        self.env["res.partner"].search([("collection_score_stale", "=", True)]).collection_score_stale = False
        only_late = self.env["res.partner"].create({"name": "Late Books Only"})
        self._create_invoice(300.0, due_date=TODAY + timedelta(days=20), partner=only_late)
        self.assertTrue(only_late.collection_score_stale)
        with self._spy(type(self.Score), "_score_customers") as scored_companies, self._at(TODAY):
            self.Score._cron_score_customers()
        self.assertEqual(scored_companies, [self.company_late])
        self.assertFalse(only_late.collection_score_stale)
        self.assertTrue(only_late.with_company(self.company_late).collection_score_band)
        self.assertFalse(only_late.with_company(self.company_prompt).collection_score_band)

    def test_the_update_drops_the_former_columns_and_scores_everyone_again(self):
        cr = self.env.cr
        create_column(cr, "res_partner", "collection_score_factors", "text")
        create_column(cr, "account_move", "collection_predicted_pay_date", "date")
        self.customer.collection_score_stale = False
        self.env.flush_all()
        migration = load_migration("19.0.1.2.0", "post-migrate", addon="collections_automation_score")
        migration.migrate(cr, "19.0.1.1.0")
        self.env.invalidate_all()
        self.assertFalse(column_exists(cr, "res_partner", "collection_score_factors"))
        self.assertFalse(column_exists(cr, "account_move", "collection_predicted_pay_date"))
        self.assertTrue(self.customer.collection_score_stale)

    def test_the_update_drops_the_scores_former_log_columns(self):
        cr = self.env.cr
        create_column(cr, "collection_invoice_score", "write_uid", "int4")
        create_column(cr, "collection_customer_score", "create_date", "timestamp")
        migration = load_migration("19.0.1.4.0", "post-migrate", addon="collections_automation_score")
        migration.migrate(cr, "19.0.1.3.0")
        self.assertFalse(column_exists(cr, "collection_invoice_score", "write_uid"))
        self.assertFalse(column_exists(cr, "collection_customer_score", "create_date"))

    def _bands(self, *codes):
        return self.env["collection.score.band"].search([("code", "in", codes)])

    def test_the_nightly_training_scores_every_company(self):
        self.env["collection.customer.score"].sudo().search([]).unlink()
        # Too little history for a model: the baseline predicts, and no
        # scikit-learn thread waits on the frozen clock.
        with self._at(TODAY):
            self.Score._cron_train()
        for company in (self.company_late, self.company_prompt):
            self.assertEqual(self.Score._get_current(company).as_of, TODAY)
            self.assertTrue(self._band_in(company))

    def test_a_scoring_gives_way_to_another_of_the_same_company(self):
        """Odoo's transactions see the database as it was when they began: a
        scoring that waited for another would create the scores it created
        (a unique constraint error). It gives way, and its customers stay
        marked for a later run."""
        # A company this transaction has not scored yet (a scoring holds the
        # company's lock until its transaction ends).
        busy_company = self.setup_other_company(name="Busy Books")["company"]
        busy_customer = self.env["res.partner"].create({"name": "Busy Books Customer"})
        self._create_invoice(300.0, due_date=TODAY, partner=busy_customer, company_id=busy_company.id)
        self.assertTrue(busy_customer.collection_score_stale)
        self.env.flush_all()
        cron = self.env.ref("collections_automation_score.ir_cron_collection_score_customers")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as other:
            other.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", SCORING_LOCK, busy_company.id))
            self.assertFalse(self.Score._score_customers(busy_company, today=TODAY))
            self.assertTrue(self.Score._score_customers(self.company_late, today=TODAY), "another company")
            with self._at(TODAY):
                self.Score._cron_score_customers()
            self.assertTrue(busy_customer.collection_score_stale)
            self.assertGreater(
                self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
                triggers,
                "retried later",
            )
            other.rollback()
        with self._at(TODAY):
            self.Score._cron_score_customers()
        self.assertFalse(busy_customer.collection_score_stale)
        self.assertTrue(busy_customer.with_company(busy_company).collection_score_band)
