from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestProviderAgnosticRetries(CollectionsCommon):
    """Tokens of other providers are charged through Odoo's own token flow
    (here the demo provider)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls._prepare_demo_provider(cls.env.company)
        cls.reminder_stage.retry_payment = True

    def test_a_retry_with_a_demo_token_pays_the_invoice(self):
        self._demo_card("done")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        retry = enrollment.event_ids.filtered(lambda e: e.action == "payment_retry")
        self.assertEqual((retry.outcome, retry.payment_transaction_id.state), ("done", "done"))
        self.assertEqual(retry.payment_transaction_id.operation, "offline")
        self.assertEqual(enrollment.state, "paid")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_removing_a_stage_waiting_for_a_retry_never_leaves_the_collection_stuck(self):
        self.standard_process.retry_schedule = "2"
        self._demo_card("error")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date), (self.reminder_stage, days(5))
        )
        with self._at(days(4)):
            enrollment.action_pause()
            self.reminder_stage.unlink()
            enrollment.action_resume()
        self.assertEqual((enrollment.next_stage_id, enrollment.next_action_date), (self.call_stage, days(10)))
        self.assertFalse(enrollment.retry_next_date, "the retry schedule went with its stage")
        for day in range(4, 12):
            self._run_engine(days(day))
        self.assertEqual(enrollment.stage_id, self.call_stage)
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date), (self.final_stage, days(30)), "not stuck"
        )

    def test_a_failed_demo_retry_is_logged_and_tried_again_on_schedule(self):
        self.standard_process.retry_schedule = "2"
        token = self._demo_card("error")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        retry = enrollment.event_ids.filtered(lambda e: e.action == "payment_retry")
        self.assertEqual((retry.outcome, retry.decline_class), ("failed", "soft"))
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(
            (enrollment.stage_id, enrollment.next_stage_id, enrollment.next_action_date),
            (self.reminder_stage, self.reminder_stage, days(5)),
        )
        token.demo_simulated_state = "done"
        self._run_engine(days(5))
        second = enrollment.event_ids.filtered(lambda e: e.action == "payment_retry") - retry
        self.assertEqual((second.attempt, second.outcome), (2, "done"))
        self.assertEqual(enrollment.state, "paid")

    def test_a_rerun_after_a_crash_charges_under_the_same_reference(self):
        # Odoo's providers take their idempotency key from the transaction's
        # reference: the rerun of a charge must not get a new one, even when
        # the customer started an online payment of the invoice in between.
        self._demo_card("done")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        Transaction = self.env.registry["payment.transaction"]
        send = Transaction._send_payment_request
        sent = []

        def record_and_send(transaction):
            sent.append(transaction.reference)
            return send(transaction)

        with self._at(days(3)), patch.object(Transaction, "_send_payment_request", record_and_send):
            # The worker dies after the provider charged, before its commit.
            with self.assertRaises(RuntimeError), self.env.cr.savepoint():
                self.env["collection.stage.action.payment_retry"]._charge(enrollment, self.reminder_stage)
                raise RuntimeError("worker killed")
            self.env.invalidate_all()
            self.env["payment.transaction"].create(
                {
                    "provider_id": self.provider.id,
                    "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                    "amount": 200.0,
                    "currency_id": invoice.currency_id.id,
                    "partner_id": self.customer.id,
                    "invoice_ids": [Command.set(invoice.ids)],
                }
            )
            self.env["collection.engine"]._cron_run()
        self.assertEqual(len(sent), 2)
        self.assertEqual(sent[0], sent[1], "the provider sees the same charge again")
        self.assertEqual(enrollment.state, "paid")
