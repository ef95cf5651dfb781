from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from .common import DAY_0, CollectionsCommon, days, load_migration


class LateChargeProcessCase(CollectionsCommon):
    """A process whose stages charge the late charges of a rule, and an
    invoice of EUR 10,000 due on DAY_0 in it."""

    @classmethod
    def _set_up_charging(cls, customer_values, rule_values, stage_values_list):
        cls.eur = cls._enable_currency("EUR")
        cls.customer_charged = cls.env["res.partner"].create(customer_values)
        cls.rule = cls.env["collection.late.charge.rule"].create(rule_values)
        cls.process = cls.env["collection.process"].create(
            {
                "name": f"Charging {cls.rule.name}",
                "user_id": cls.collections_manager.id,
                "late_charge_rule_id": cls.rule.id,
                "stage_ids": [fields.Command.create(values) for values in stage_values_list],
            }
        )

    def setUp(self):
        super().setUp()
        self.invoice = self._create_invoice(
            amount=10000, partner=self.customer_charged, currency_id=self.eur.id
        )
        with self._at(DAY_0):
            self.enrollment = self.invoice.collection_enroll(process_id=self.process.id)


@tagged("post_install", "-at_install")
class TestLateChargeStage(LateChargeProcessCase):
    """The stage action that invoices the late charges, through the engine."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_up_charging(
            {"name": "Late Payer BV", "is_company": True, "email": "ap@latepayer.example.com"},
            {"name": "EU", "preset": "eu"},
            [
                {
                    **cls._prepare_reminder_stage_values(),
                    "name": "Interest",
                    "delay_days": 30,
                    "charge_late_fees": True,
                },
                {"name": "Interest again", "sequence": 2, "delay_days": 60, "charge_late_fees": True},
            ],
        )
        cls.business = cls.customer_charged

    def _charges(self):
        return self.invoice.collection_charge_move_ids

    def test_the_stage_invoices_interest_and_compensation_once(self):
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(len(charge), 1)
        self.assertEqual(charge.state, "draft", "the rule leaves charges for an accountant to approve")
        self.assertEqual(charge.invoice_origin, self.invoice.name)
        self.assertEqual(charge.partner_id, self.business)
        self.assertEqual(charge.currency_id, self.eur)
        lines = charge.invoice_line_ids.sorted("collection_charge_type")
        # 10,000 x (2.15% + 8) x 30 / 365 = 83.42, and EUR 40.
        self.assertEqual(lines.mapped("collection_charge_type"), ["compensation", "interest"])
        self.assertEqual(lines.mapped("price_subtotal"), [40.0, 83.42])
        self.assertFalse(lines.tax_ids, "damages are outside the scope of VAT")
        interest = lines.filtered(lambda line: line.collection_charge_type == "interest")
        self.assertIn("30 days", interest.name)
        self.assertIn("10.15%", interest.name)
        self.assertIn("10,000.00", interest.name)
        self.assertEqual(interest.product_id, self.env.ref("collections_automation.product_late_interest"))
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual((event.charge_move_id, event.amount, event.outcome), (charge, 123.42, "done"))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.account_move_action_late_charges_to_approve"
        )
        self.assertIn(charge, self.env["account.move"].search(safe_eval(action["domain"])))
        # The engine runs again the same day, and the next: nothing more.
        self._run_engine(days(30))
        self._run_engine(days(31))
        self.assertEqual(self._charges(), charge)
        self.assertEqual(len(self._reminders(self.enrollment)), 1)

    def test_a_later_stage_charges_only_the_interest_accrued_since(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        self._run_engine(days(60))
        first, second = self._charges().sorted("id")
        self.assertEqual((first.state, second.state), ("posted", "posted"))
        # 60 days in all: 166.85, of which 83.42 charged at the first stage.
        self.assertEqual(second.invoice_line_ids.mapped("collection_charge_type"), ["interest"])
        self.assertEqual(second.amount_total, 83.43)
        self.assertIn("charged before", second.invoice_line_ids.name)

    def test_a_failure_later_in_the_stage_rolls_the_charge_back(self):
        EmailAction = type(self.env["collection.stage.action.email"])
        with patch.object(EmailAction, "_run", side_effect=RuntimeError("SMTP down")):
            self._run_engine(days(30))
        self.assertFalse(self._charges(), "the charge went with the failed stage")
        self._run_engine(days(31))
        self.assertEqual(len(self._charges()), 1)
        self.assertEqual(len(self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")), 1)

    def test_nothing_charged_when_waived_or_without_a_rule(self):
        self.invoice.write(
            {"collection_late_charge_waived": True, "collection_late_charge_waiver_reason": "Goodwill"}
        )
        self._run_engine(days(30))
        self.assertFalse(self._charges())
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual(event.outcome, "skipped")
        self.assertIn("do not apply", event.message)
        self.assertEqual(len(self._reminders(self.enrollment)), 1, "the stage's email still goes")

    def test_a_segment_rule_chooses_another_rule(self):
        contractual = self.env["collection.late.charge.rule"].create(
            {"name": "Terms of sale", "preset": "contractual", "compensation_type": "none"}
        )
        segment = self.env["collection.segment.rule"].create(
            {"name": "Dutch customers", "process_id": self.process.id, "late_charge_rule_id": contractual.id}
        )
        self.enrollment.segment_rule_id = segment
        self._run_engine(days(30))
        # 18% a year: 10,000 x 18% x 30 / 365 = 147.95, no compensation.
        self.assertEqual(self._charges().amount_total, 147.95)

    def test_posted_charges_are_due_with_the_invoice(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(self.enrollment.amount_charged, 123.42)
        self.assertEqual(self.enrollment.amount_residual, 10123.42)
        self.assertEqual(self.enrollment._get_payable_invoices(), self.invoice | charge)
        # The invoice paid by transfer: the collection goes on for the charges.
        self._pay(self.invoice, amount=10000, day=days(32))
        self.assertEqual(self.enrollment.state, "running")
        self.assertEqual(
            (self.enrollment.amount_residual, self.enrollment.amount_collected), (123.42, 10000.0)
        )
        self._pay(charge, day=days(33))
        self.assertEqual(self.enrollment.state, "paid")
        self.assertEqual(self.enrollment.amount_collected, 10123.42)
        # Everything owed was collected: the charges count on both sides.
        self.env.flush_all()
        amount_rate, _count_rate = self.env["collection.kpi"]._get_recovery_rate(
            self.env.company, DAY_0, days(40)
        )
        self.assertAlmostEqual(amount_rate, 100.0)
        cash, _by_stage = self.env["collection.kpi"]._get_cash_collected(self.env.company, DAY_0, days(40))
        rate = self.invoice.invoice_currency_rate
        self.assertAlmostEqual(cash, round(10000 / rate, 2) + round(123.42 / rate, 2), places=2)

    def test_a_draft_charge_counts_once_an_accountant_posts_it(self):
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(self.enrollment.amount_residual, 10000.0, "a draft is not due yet")
        charge.action_post()
        self.assertEqual(
            (self.enrollment.amount_charged, self.enrollment.amount_residual), (123.42, 10123.42)
        )
        self.assertFalse(
            self.enrollment.event_ids.filtered(lambda e: e.action == "partial_payment"), "not a payment"
        )

    def test_waiving_a_charge_is_a_credit_note_with_its_reason(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        action = charge.with_user(self.collections_user).action_waive_late_charges()
        wizard = self.env[action["res_model"]].browse(action["res_id"]).with_user(self.collections_user)
        wizard.reason = "Long-standing customer, first delay"
        wizard.action_waive()
        self.assertEqual(charge.payment_state, "reversed")
        credit_note = charge.reversal_move_ids
        self.assertEqual((credit_note.state, credit_note.amount_total), ("posted", 123.42))
        self.assertIn("Long-standing customer", credit_note.ref)
        self.assertEqual((self.enrollment.amount_charged, self.enrollment.amount_residual), (0.0, 10000.0))
        self.assertEqual(self.enrollment.amount_collected, 0.0, "a waiver is not cash")
        self.assertTrue(
            self.enrollment.message_ids.filtered(lambda m: "Long-standing customer" in str(m.body))
        )
        # The next stage charges the interest accrued since, not the waived.
        self._run_engine(days(60))
        self.assertEqual((self._charges() - charge).amount_total, 83.43)
        with self.assertRaisesRegex(UserError, "Only posted late charge invoices"):
            self.invoice.action_waive_late_charges()

    def test_the_collection_shows_the_interest_accrued_to_date(self):
        with self._at(days(45)):
            self.enrollment.invalidate_recordset(["late_interest_accrued"])
            # 10,000 x 10.15% x 45 / 365.
            self.assertEqual(self.enrollment.late_interest_accrued, 125.14)
        self.enrollment.process_id.late_charge_rule_id = False
        self.enrollment.invalidate_recordset(["late_interest_accrued"])
        self.assertEqual(self.enrollment.late_interest_accrued, 0.0)

    def test_a_charge_invoice_is_collected_with_its_invoice_never_on_its_own(self):
        self.rule.auto_post = True
        self.process.write({"auto_enroll_overdue": True, "grace_days": 0})
        self.env.company.collection_default_process_id = self.process
        self._run_engine(days(30))
        charge = self._charges()
        # Overdue too, but it is due with its invoice's collection.
        self._run_engine(days(45))
        self.assertFalse(charge.collection_enrollment_ids)
        with self.assertRaisesRegex(UserError, "collected with that invoice"):
            charge.collection_enroll(process_id=self.process.id)
        # Its invoice paid, the collection stays open for the charge alone.
        self._pay(self.invoice, amount=10000, day=days(46))
        self._run_engine(days(47))
        self.assertFalse(charge.collection_enrollment_ids)
        self.assertEqual(self.enrollment.amount_residual, charge.amount_residual)
        # The collection cancelled by a user: the triggers leave the charge
        # alone; a person may chase it on its own.
        self.enrollment.action_cancel()
        self._run_engine(days(48))
        self.assertFalse(charge.collection_enrollment_ids)
        self.assertTrue(charge.collection_enroll(process_id=self.process.id))

    def test_a_partly_paid_charge_reversed_still_lets_the_last_payment_close_it(self):
        """Found by the simulation: reversing a partly paid charge (Odoo hands
        the part paid back to the customer's account) lowered what the
        collection had received, and the payment of the invoice's last 50
        then left it open (it closed only when what was received rose)."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self._pay(self.invoice, amount=9950, day=days(31))
        self._pay(charge, amount=100, day=days(32))
        self.assertEqual(self.enrollment.amount_residual, 50 + 23.42)
        with self.assertRaisesRegex(UserError, "partly paid"):
            charge.action_waive_late_charges()
        charge._reverse_moves([{"invoice_date": days(32)}], cancel=True)
        self.assertEqual(self.enrollment.amount_residual, 50.0)
        self._pay(self.invoice, amount=50, day=days(33))
        self.assertEqual(self.enrollment.state, "paid")

    def test_the_reminder_and_the_letter_show_the_charges(self):
        """The stage charges first, then its email says what it includes."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        reminder = self._reminders(self.enrollment)
        self.assertIn("10,123.42", str(reminder.body))
        self.assertIn("Including late charges of", str(reminder.body))
        self.assertIn("123.42", str(reminder.body))
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "collections_automation.collection_letter_report", self.enrollment.ids
        )
        self.assertIn("Including late charges of", str(html))

    def test_charges_still_due_are_owed_in_the_next_collection_of_the_invoice(self):
        """Found by the simulation: enrolled again by hand, the invoice's new
        collection owed the invoice alone, not its charges still due."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self.enrollment.action_cancel()
        with self._at(days(31)):
            again = self.invoice.collection_enroll(process_id=self.process.id, reenroll=True)
        self.assertEqual((again.amount_due_at_enrollment, again.amount_residual), (10123.42, 10123.42))
        self.assertEqual((again.amount_charged, again.amount_collected), (0.0, 0.0))
        self._pay(charge, day=days(32))
        self.assertEqual((again.amount_residual, again.amount_collected), (10000.0, 123.42))
        self._pay(self.invoice, amount=10000, day=days(33))
        self.assertEqual(again.state, "paid")


@tagged("post_install", "-at_install")
class TestFormalNotice(LateChargeProcessCase):
    """The consumer presets that count interest from a formal notice: the
    engine dates the notice on the invoice, the stage charges from it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_up_charging(
            {"name": "Camille Martin", "is_company": False, "email": "camille@example.com"},
            {"name": "France, consumers", "preset": "fr_consumer", "auto_post": True},
            [
                cls._prepare_reminder_stage_values(),
                {
                    "name": "Interest",
                    "sequence": 2,
                    "delay_days": 30,
                    "delay_from": "due_date",
                    "charge_late_fees": True,
                },
            ],
        )

    def _email_event(self, day):
        with self._at(day):
            self.enrollment._log_event("email")

    def test_the_first_reminder_after_the_due_date_is_the_formal_notice(self):
        self._email_event(days(-2))
        self._email_event(DAY_0)
        self.assertFalse(
            self.invoice.collection_notice_date, "a reminder before or on the due date is no notice"
        )
        self.enrollment._log_event("email", outcome="failed")
        self.assertFalse(self.invoice.collection_notice_date, "an email that was not sent is no notice")
        with self._at(days(2)):
            self.enrollment._log_event("letter")
        self.assertFalse(
            self.invoice.collection_notice_date, "a printed letter is no notice until the day it is posted"
        )
        self._email_event(days(3))
        self._email_event(days(10))
        self.assertEqual(self.invoice.collection_notice_date, days(3), "the first one, kept")

    def test_a_notice_an_accountant_dated_is_kept(self):
        self.invoice.collection_notice_date = days(1)
        self._email_event(days(3))
        self.assertEqual(self.invoice.collection_notice_date, days(1))

    def test_the_stage_charges_interest_from_the_notice(self):
        """Notice on 5 March 2026 (the reminder, 3 days after the due date):
        27 days from 6 March to 1 April at 2.62% (taux légal of the first
        half of 2026, tous les autres cas): 10,000 x 2.62% x 27 / 365 =
        19.38; no compensation for a consumer."""
        self._run_engine(days(3))
        self.assertEqual(len(self._reminders(self.enrollment)), 1)
        self.assertEqual(self.invoice.collection_notice_date, days(3))
        self._run_engine(days(30))
        charge = self.invoice.collection_charge_move_ids
        self.assertEqual((charge.state, charge.amount_total), ("posted", 19.38))
        self.assertIn("27 days", charge.invoice_line_ids.name)
        self.assertIn("2.62%", charge.invoice_line_ids.name)

    def test_an_upgrade_dates_the_notices_from_the_history(self):
        """19.0.1.5.0 leaves the new column empty and dates the notices of
        the invoices whose collections emailed a reminder."""
        self._email_event(days(3))
        self._email_event(days(10))
        quiet = self._create_invoice(amount=500)
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE account_move SET collection_notice_date = NULL"))
        self.env.invalidate_all()
        for step in ("pre-migrate", "post-migrate"):
            load_migration("19.0.1.5.0", step).migrate(self.env.cr, "19.0.1.4.0")
        self.env.invalidate_all()
        self.assertEqual(self.invoice.collection_notice_date, days(3))
        self.assertFalse(quiet.collection_notice_date)

    def test_an_upgrade_counts_belgian_notices_from_the_working_day_after(self):
        belgian = self.env["collection.late.charge.rule"].create({"name": "Belgium", "preset": "be_consumer"})
        adjusted = belgian.copy({"notice_days_from": "third_working_day"})
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE collection_late_charge_rule SET notice_days_from = 'next_day' WHERE id = %s",
                belgian.id,
            )
        )
        load_migration("19.0.1.5.1", "post-migrate").migrate(self.env.cr, "19.0.1.5.0")
        self.env.invalidate_all()
        self.assertEqual(belgian.notice_days_from, "next_working_day")
        self.assertEqual(adjusted.notice_days_from, "third_working_day", "a rule set otherwise is kept")

    def test_no_interest_before_a_notice(self):
        self.process.stage_ids.filtered(lambda stage: stage.name == "Reminder").send_email = False
        self._run_engine(days(3))
        self._run_engine(days(30))
        self.assertFalse(self.invoice.collection_notice_date)
        self.assertFalse(self.invoice.collection_charge_move_ids)
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual((event.outcome, event.message), ("skipped", "Nothing more to charge."))
