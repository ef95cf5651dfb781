from datetime import datetime, time, timedelta
from unittest.mock import patch

from odoo.fields import Command
from odoo.tests import tagged

from .common import ADDON, ChromiumCase, CollectionsCommon, days
from .test_portal import PaymentRequestCommon


@tagged("post_install", "-at_install")
class TestCollectionsTours(CollectionsCommon, ChromiumCase):
    @classmethod
    def setUpClass(cls):
        # The desk counts from a Thursday noon UTC, whatever the machine's clock says.
        cls._freeze_class_clock(datetime.combine(days(10), time(12)))
        super().setUpClass()
        cls._tour_user("collections_tour_user", "account.group_account_invoice")
        customer = cls.env["res.partner"].create({"name": "Tour Customer", "email": "tour@example.com"})
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2020-01-01",
                "invoice_date_due": "2020-01-31",
                "invoice_line_ids": [Command.create({"name": "Overdue service", "price_unit": 420.0})],
            }
        )
        invoice.action_post()
        cls.invoice = invoice
        cls.env["collection.process"].create(
            {
                "name": "Tour Standard",
                "stage_ids": [
                    Command.create(
                        {
                            "name": "Tour reminder",
                            "delay_days": 1,
                            "delay_from": "enrollment",
                            "send_email": True,
                            "mail_template_id": cls.env.ref(f"{ADDON}.mail_template_overdue").id,
                        }
                    )
                ],
            }
        )

    def test_accountant_logs_in_and_opens_collections(self):
        self.start_tour("/web/login", "collections_menu_tour")

    def test_accountant_starts_collections_from_an_invoice(self):
        self.start_tour(
            f"/odoo/action-{ADDON}.account_move_action_to_collect",
            "collections_start_tour",
            login="collections_tour_user",
        )
        enrollment = self.invoice.collection_enrollment_id
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.process_id.name, "Tour Standard")

    def test_admin_designs_a_process_from_the_settings(self):
        self.start_tour("/odoo/settings#account", "collections_designer_tour", login="admin")
        # The administrator works in their own company: read across companies.
        process = self.env["collection.process"].sudo().search([("name", "=", "Three steps")])
        self.assertTrue(process.active)
        self.assertEqual(process.stage_ids.sorted("sequence").mapped("delay_days"), [1, 5, 10, 12])

    def test_manager_resumes_a_disputed_collection(self):
        manager = self._tour_user("collections_tour_manager", "account.group_account_manager")
        process = self.env["collection.process"].search([("name", "=", "Tour Standard")])
        others = self.invoice.copy({"invoice_date": "2020-02-01", "invoice_date_due": "2020-03-01"})
        others.action_post()
        enrollments = (self.invoice | others).collection_enroll(process_id=process.id)
        enrollments[0].with_user(manager).action_dispute("wrong_amount", "Not what we ordered")
        # At the end of the ladder: one escalated, one waiting for its escalation.
        at_the_end = self.env["account.move"].concat(
            *(
                self.invoice.copy({"invoice_date": "2020-03-01", "invoice_date_due": "2020-04-01"})
                for _index in range(2)
            )
        )
        at_the_end.action_post()
        ladder_done = at_the_end.collection_enroll(process_id=process.id)
        ladder_done.write(
            {"stage_id": process.stage_ids.id, "next_stage_id": False, "next_action_date": days(17)}
        )
        self._escalate_at_ladder_end(ladder_done[0])
        self.start_tour(
            f"/odoo/action-{ADDON}.collection_enrollment_overview_action",
            "collections_resume_dispute_tour",
            login="collections_tour_manager",
        )
        self.assertEqual(enrollments.mapped("state"), ["running", "running"])

    def test_administrator_approves_a_late_charge_and_the_legal_escalation(self):
        manager = self._tour_user("collections_tour_admin", "account.group_account_manager")
        rule = self.env["collection.late.charge.rule"].create(
            {"name": "Terms of sale", "preset": "contractual", "compensation_type": "none"}
        )
        process = self.env["collection.process"].search([("name", "=", "Tour Standard")])
        process.write({"late_charge_rule_id": rule.id, "escalation_delay_days": 0, "escalation_legal": True})
        process.stage_ids.charge_late_fees = True
        enrollment = self.invoice.collection_enroll(process_id=process.id)
        enrollment.next_action_date = self._company_today()
        self.env["collection.engine"]._cron_run()
        charge = self.invoice.collection_charge_move_ids
        self.assertEqual((charge.state, enrollment.legal_state), ("draft", "to_approve"))
        self.start_tour(
            f"/odoo/action-{ADDON}.account_move_action_late_charges_to_approve",
            "collections_approve_late_charge_tour",
            login="collections_tour_admin",
        )
        self.assertEqual(charge.state, "posted")
        self.assertEqual(enrollment.amount_charged, charge.amount_total)
        # The PDFs themselves are rendered and checked in test_legal: here
        # wkhtmltopdf fetching assets from the tour's busy test server made
        # the chatter's requests time out on a loaded machine.
        Legal = type(self.env["collection.legal.action"])
        pdf = b"%PDF-1.4\n%%EOF\n"
        with (
            patch.object(Legal, "_render_report", lambda _self, _xmlid, _records: pdf),
            patch.object(Legal, "_render_evidence_pack", lambda _self, _enrollment: pdf),
        ):
            self.start_tour(
                f"/odoo/collection.enrollment/{enrollment.id}",
                "collections_approve_legal_tour",
                login="collections_tour_admin",
            )
        self.assertEqual(enrollment.legal_state, "sent")
        self.assertIn(manager.name, enrollment.event_ids.filtered(lambda e: e.action == "legal").message)

    def test_the_analysis_opens_grouped_by_process_and_stage(self):
        process = self.env["collection.process"].search([("name", "=", "Tour Standard")])
        enrollment = self.invoice.collection_enroll(process_id=process.id)
        enrollment.stage_id = process.stage_ids[:1]
        self.start_tour(
            f"/odoo/action-{ADDON}.collection_analysis_action",
            "collections_analysis_tour",
            login="collections_tour_user",
        )


@tagged("post_install", "-at_install")
class TestPaymentRequestTours(PaymentRequestCommon, ChromiumCase):
    """The customer's side, in Chromium, without logging in: the link of a
    reminder email, then pay, promise or dispute, on a phone-sized screen."""

    browser_size = "375x667"
    touch_enabled = True

    def _open_the_emailed_link(self, tour):
        self.start_tour(self.enrollment.get_portal_url(), tour)

    def test_customer_pays_from_the_emailed_link(self):
        self._open_the_emailed_link("collections_portal_pay_tour")
        self.assertEqual((self.enrollment | self.second_enrollment).mapped("state"), ["paid", "paid"])

    def test_customer_saves_a_new_card_and_the_next_retry_charges_it(self):
        card_process = self.env["collection.process"].create(
            {
                "name": "Card on file",
                "retry_schedule": "",
                "stage_ids": [
                    Command.create({"name": "Charge the card", "delay_days": 0, "retry_payment": True})
                ],
            }
        )
        invoice = self._create_invoice(amount=90.0, due_date=self._company_today() - timedelta(days=1))
        enrollment = invoice.collection_enroll(process_id=card_process.id)
        self.start_tour(
            enrollment.get_portal_url(suffix="/payment-method"), "collections_portal_save_card_tour"
        )
        token = self.env["collection.stage.action.payment_retry"]._get_token(enrollment)
        self.assertEqual((token.partner_id, token.provider_id), (self.customer, self.provider))
        self.env["collection.engine"]._cron_run()
        retry = enrollment.event_ids.filtered(lambda event: event.action == "payment_retry")
        self.assertEqual(retry.payment_transaction_id.token_id, token, "the retry charged the new card")
        self.assertEqual(enrollment.state, "paid")

    def test_customer_promises_to_pay(self):
        # The tour promises part of the amount due: a setting of the process.
        self.standard_process.promise_min_share = 40
        self._open_the_emailed_link("collections_portal_promise_tour")
        self.assertEqual((self.enrollment.state, self.enrollment.pause_reason), ("paused", "promise"))
        self.assertEqual(self.enrollment.promise_amount + self.second_enrollment.promise_amount, 600.0)

    def test_customer_files_a_dispute(self):
        self._open_the_emailed_link("collections_portal_dispute_tour")
        self.assertEqual(self.enrollment.dispute_reason, "wrong_amount")
        self.assertTrue(self.enrollment.activity_ids)
        self.assertEqual(
            (self.second_enrollment.state, self.second_enrollment.dispute_reason),
            ("running", False),
            "the invoice left unticked is not disputed",
        )
