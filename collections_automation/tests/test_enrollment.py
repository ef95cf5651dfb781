from datetime import timedelta

from psycopg2.errors import NotNullViolation

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import ADDON, DAY_0, CollectionsCommon


@tagged("post_install", "-at_install")
class TestEnrollment(CollectionsCommon):
    def test_enroll_with_a_process(self):
        invoice = self._create_invoice(amount=1200)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.partner_id, self.customer)
        self.assertEqual(enrollment.amount_due_at_enrollment, 1200)
        self.assertEqual(enrollment.next_stage_id, self.reminder_stage)
        self.assertEqual(str(enrollment.next_action_date), "2026-03-05")
        self.assertTrue(enrollment.name.startswith("COL/"))
        self.assertEqual(invoice.collection_enrollment_id, enrollment)
        self.assertEqual(invoice.collection_state, "running")
        self.assertTrue(enrollment.access_token or enrollment._portal_ensure_token())
        self.assertEqual(enrollment.event_ids.mapped("action"), ["enrolled"])

    def test_late_enrollment_starts_at_the_latest_due_stage(self):
        invoice = self._create_invoice()
        with self._at(DAY_0 + timedelta(days=40)):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(enrollment.next_stage_id, self.final_stage)
        skipped = enrollment.event_ids.filtered(lambda e: e.action == "stage_skipped")
        self.assertEqual(skipped.stage_id, self.reminder_stage | self.call_stage)

    def test_a_collection_created_as_the_web_client_sends_it_is_planned(self):
        """Dates as text, the process from the context's default (a process's
        Collections list): planned as if the dates were dates."""
        invoice = self._create_invoice()
        values = {
            "move_id": invoice.id,
            "partner_id": self.customer.id,
            "due_date": "2026-03-01",
            "enrolled_on": "2026-04-10",
        }
        with self._at(DAY_0 + timedelta(days=40)):
            enrollment = (
                self.env["collection.enrollment"]
                .with_context(default_process_id=self.standard_process.id)
                .create(values)
            )
        self.assertEqual(enrollment.process_id, self.standard_process)
        self.assertEqual(enrollment.next_stage_id, self.final_stage)
        skipped = enrollment.event_ids.filtered(lambda e: e.action == "stage_skipped")
        self.assertEqual(skipped.stage_id, self.reminder_stage | self.call_stage)
        # Without a process, the database refuses it, as a required field.
        with self.assertRaises(NotNullViolation), mute_logger("odoo.sql_db"):
            self.env["collection.enrollment"].create(dict(values, move_id=self._create_invoice().id))

    def test_refusals_are_clear(self):
        draft = self._create_invoice(post=False)
        paid = self._create_invoice()
        self._pay(paid)
        cancelled = self._create_invoice()
        cancelled.button_draft()
        cancelled.button_cancel()
        bill = self.init_invoice("in_invoice", amounts=[100], post=True)
        refund = self.init_invoice("out_refund", amounts=[100], post=True)
        excluded = self._create_invoice()
        excluded.no_followup = True
        held_customer = self.env["res.partner"].create({"name": "On Hold Inc", "collection_hold": True})
        held = self._create_invoice(partner=held_customer)
        enrolled = self._create_invoice()
        enrolled.collection_enroll(process_id=self.standard_process.id)
        cases = [
            (draft, "is Draft"),
            (paid, "nothing left to pay"),
            (cancelled, "is Cancelled"),
            (bill, "not a customer invoice"),
            (refund, "is a credit note"),
            (excluded, "excluded from follow-up"),
            (held, "on collection hold"),
            (enrolled, "already in a collection process"),
        ]
        for invoice, reason in cases:
            with self.subTest(reason=reason), self.assertRaisesRegex(UserError, reason):
                invoice.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(len(enrolled.collection_enrollment_ids), 1)

    def test_no_rule_and_no_default_process_is_refused(self):
        invoice = self._create_invoice()
        with self.assertRaisesRegex(UserError, "No segment rule fits"):
            invoice.collection_enroll()
        self.env.company.collection_default_process_id = self.standard_process
        self.assertEqual(invoice.collection_enroll().process_id, self.standard_process)

    def test_only_collections_users_enroll(self):
        invoice = self._create_invoice()
        outsider = self.env["res.users"].create(
            {
                "name": "Outsider",
                "login": "outsider",
                "group_ids": [fields.Command.link(self.env.ref("base.group_user").id)],
            }
        )
        with self.assertRaises(AccessError):
            invoice.with_user(outsider).collection_enroll(process_id=self.standard_process.id)
        enrollment = invoice.with_user(self.collections_user).collection_enroll(
            process_id=self.standard_process.id
        )
        self.assertEqual(enrollment.env.user, self.collections_user)

    def test_wizard_from_the_action_menu_on_a_selection(self):
        invoices = self._create_invoice() | self._create_invoice(amount=300)
        action = (
            self.env.ref(f"{ADDON}.account_move_action_start_collections")
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .run()
        )
        self.assertEqual(action["res_model"], "collection.enroll.wizard")
        wizard_form = Form(self.env["collection.enroll.wizard"].with_context(**action["context"]))
        wizard_form.process_id = self.standard_process
        wizard_form.start_date = DAY_0
        result = wizard_form.save().action_enroll()
        enrollments = self.env["collection.enrollment"].search(result["domain"])
        self.assertEqual(enrollments.move_id, invoices)
        self.assertEqual(set(enrollments.mapped("enrolled_on")), {DAY_0})

    def test_server_action_code_can_enroll(self):
        invoice = self._create_invoice()
        self.env.company.collection_default_process_id = self.standard_process
        action = self.env["ir.actions.server"].create(
            {
                "name": "Custom enroll",
                "model_id": self.env.ref("account.model_account_move").id,
                "state": "code",
                "code": "records.collection_enroll()",
            }
        )
        action.with_context(active_model="account.move", active_ids=invoice.ids).run()
        self.assertEqual(invoice.collection_state, "running")

    def test_full_payment_closes_at_once(self):
        invoice = self._create_invoice(amount=800)
        enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._pay(invoice)
        self.assertEqual(enrollment.state, "paid")
        self.assertEqual(enrollment.amount_collected, 800)
        self.assertFalse(enrollment.next_action_date)

    def test_partial_payment_continues_on_the_residual(self):
        invoice = self._create_invoice(amount=800)
        enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._pay(invoice, amount=300)
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.amount_residual, 500)
        self.assertEqual(enrollment.amount_collected, 300)
        self.assertIn("partial_payment", enrollment.event_ids.mapped("action"))

    def test_cancelled_or_reversed_invoice_cancels(self):
        cancelled = self._create_invoice()
        enrollment = cancelled.collection_enroll(process_id=self.standard_process.id)
        cancelled.button_draft()
        self.assertEqual(enrollment.state, "cancelled")
        reversed_invoice = self._create_invoice()
        enrollment = reversed_invoice.collection_enroll(process_id=self.standard_process.id)
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=reversed_invoice.ids)
            .create({"journal_id": reversed_invoice.journal_id.id, "reason": "wrong customer"})
        )
        reversal.modify_moves()
        self.assertEqual(enrollment.state, "cancelled")

    def test_standalone_payment_request(self):
        self.env.company.collection_default_process_id = self.standard_process
        Enrollment = self.env["collection.enrollment"].with_user(self.collections_user)
        request = Enrollment.create_payment_request(
            {"partner_id": self.customer.id, "amount": 250.0, "reference": "SUB-2026-03", "due_date": DAY_0}
        )
        self.assertFalse(request.move_id)
        self.assertEqual((request.amount_residual, request.reference), (250.0, "SUB-2026-03"))
        self.assertIn("/my/collections/", request._get_payment_url())
        request.sudo()._record_payment(100.0)
        self.assertEqual((request.state, request.amount_residual), ("running", 150.0))
        request.sudo()._record_payment(150.0)
        self.assertEqual(request.state, "paid")
        with self.assertRaisesRegex(ValidationError, "greater than zero"):
            Enrollment.create_payment_request({"partner_id": self.customer.id, "amount": 0})
        with self.assertRaisesRegex(ValidationError, "existing customer"):
            Enrollment.create_payment_request({"partner_id": 0, "amount": 10})

    def test_pause_and_resume_by_hand(self):
        enrollment = self._create_invoice().collection_enroll(process_id=self.standard_process.id)
        with self._at(DAY_0):
            with self.assertRaisesRegex(ValidationError, "a day after today"):
                enrollment.action_pause(until=DAY_0)
            enrollment.action_pause(note="Customer asked for a week")
            self.assertEqual((enrollment.state, enrollment.pause_reason), ("paused", "manual"))
            enrollment.action_cancel()
            self.assertEqual(enrollment.state, "cancelled")
            with self.assertRaisesRegex(UserError, "can no longer change"):
                enrollment.action_cancel()
        enrollment = self._create_invoice().collection_enroll(process_id=self.standard_process.id)
        with self.assertRaisesRegex(UserError, "Only a paused"):
            enrollment.action_resume()
