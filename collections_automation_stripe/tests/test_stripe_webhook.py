import hashlib
import hmac
import json
import time
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, tagged

from .test_stripe_retries import StripeRetryCommon, days

WEBHOOK = "/collections/stripe/webhook"
ODOO_WEBHOOK = "/payment/stripe/webhook"
WEBHOOK_LOGGER = "odoo.addons.collections_automation_stripe.controllers.stripe_webhook"


@tagged("post_install", "-at_install")
class TestStripeWebhook(StripeRetryCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.failure_process = cls.env["collection.process"].create(
            {
                "name": "Failed card payments",
                "enroll_on_payment_failure": True,
                "stage_ids": [fields.Command.create({"name": "Tell the customer", "delay_days": 1})],
            }
        )

    def _event(self, event_type, transaction, event_id="evt_1", **intent):
        """A Stripe event about the PaymentIntent of ``transaction``, whose
        description is the transaction's reference (Odoo's Stripe module
        sends it so)."""
        intent = {
            "id": transaction.provider_reference,
            "object": "payment_intent",
            "description": transaction.reference,
            "payment_method": "pm_ok",
            **intent,
        }
        return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": intent}})

    def _paying(self, transaction):
        """A PaymentIntent that paid ``transaction``: its amount and currency."""
        return {
            "status": "succeeded",
            "amount": round(transaction.amount * 100),
            "currency": transaction.currency_id.name.lower(),
        }

    def _declined(self, transaction, decline_code, message="Declined"):
        """A PaymentIntent whose charge of ``transaction`` was declined."""
        return {
            "status": "requires_payment_method",
            "amount": round(transaction.amount * 100),
            "currency": transaction.currency_id.name.lower(),
            "last_payment_error": {"code": "card_declined", "decline_code": decline_code, "message": message},
        }

    def _signature(self, payload, secret="whsec_collections"):
        timestamp = int(time.time())
        digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def _post(self, payload, signature=None, endpoint=WEBHOOK):
        headers = {"Content-Type": "application/json"}
        if signature is not False:
            headers["Stripe-Signature"] = signature or self._signature(payload)
        return self.url_open(endpoint, data=payload, headers=headers)

    def _charge_still_processing(self):
        """A collection whose charge Stripe was still processing when the
        engine ran (Stripe tells the end by webhook), and the charge's event."""
        _invoice, enrollment = self._enroll()
        self._token("pm_processing")
        self._run_engine(days(1))
        return enrollment, self._retries(enrollment)

    def _decline_event(self, retry, event_id, decline_code, message="Declined"):
        transaction = retry.payment_transaction_id
        return self._event(
            "payment_intent.payment_failed",
            transaction,
            event_id=event_id,
            **self._declined(transaction, decline_code, message),
        )

    def _pending_transaction(self, invoice, intent_id):
        token = self._token("pm_ok")
        return self.env["payment.transaction"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": token.payment_method_id.id,
                "token_id": token.id,
                "operation": "offline",
                "amount": invoice.amount_residual,
                "currency_id": invoice.currency_id.id,
                "partner_id": invoice.partner_id.id,
                "invoice_ids": [fields.Command.set(invoice.ids)],
                "provider_reference": intent_id,
                "state": "pending",
            }
        )

    def test_a_succeeded_payment_turns_the_enrollment_paid(self):
        invoice, enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_ok")
        response = self._post(
            self._event("payment_intent.succeeded", transaction, **self._paying(transaction))
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(transaction.state, "done")
        # Odoo's post-processing (its cron, or the customer's status page)
        # books the payment.
        transaction._post_process()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(enrollment.state, "paid")

    def test_a_charge_of_the_engine_paid_later_is_booked_by_the_next_post_processing(self):
        enrollment, retry = self._charge_still_processing()
        invoice, transaction = enrollment.move_id, retry.payment_transaction_id
        self.assertEqual(transaction.state, "pending")
        post_processing = self.env.ref("payment.cron_post_process_payment_tx")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", post_processing.id)])
        payload = self._event(
            "payment_intent.succeeded", transaction, event_id="evt_paid_later", **self._paying(transaction)
        )
        self.assertEqual(self._post(payload).status_code, 200)
        self.assertEqual(transaction.state, "done")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", post_processing.id)]) - triggers,
            "the post-processing runs now, not at its next run",
        )
        transaction._post_process()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(enrollment.state, "paid")
        self.assertEqual(retry.outcome, "done")

    def test_a_replayed_event_is_a_no_op(self):
        invoice, _enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_replay")
        payload = self._event(
            "payment_intent.succeeded", transaction, event_id="evt_replay", **self._paying(transaction)
        )
        self.assertEqual(self._post(payload).status_code, 200)
        transaction._post_process()
        payments = invoice._get_reconciled_payments()
        self.assertEqual(len(payments), 1)
        with patch.object(type(transaction), "_process") as process:
            self.assertEqual(self._post(payload).status_code, 200)
        process.assert_not_called()
        self.assertEqual(invoice._get_reconciled_payments(), payments, "no second payment")
        received = self.env["collection.webhook.event"].search([("event_id", "=", "evt_replay")])
        self.assertEqual(len(received), 1)

    def test_a_failed_payment_of_an_invoice_enrolls_it(self):
        invoice = self._create_invoice(amount=90.0)
        transaction = self._pending_transaction(invoice, "pi_hook_failed")
        payload = self._event(
            "payment_intent.payment_failed", transaction, **self._declined(transaction, "insufficient_funds")
        )
        self.assertEqual(self._post(payload).status_code, 200)
        self.assertEqual(transaction.state, "error")
        self.assertEqual(invoice.collection_enrollment_ids.process_id, self.failure_process)

    def test_a_failed_retry_keeps_its_decline_code(self):
        enrollment, retry = self._charge_still_processing()
        self.assertEqual(retry.payment_transaction_id.state, "pending")
        payload = self._decline_event(retry, "evt_retry_failed", "lost_card", "Lost card")
        self.assertEqual(self._post(payload).status_code, 200)
        self.assertEqual(
            (retry.outcome, retry.decline_code, retry.decline_class), ("failed", "lost_card", "hard")
        )
        self.assertEqual(enrollment.retry_blocked, "hard")

    def test_odoos_own_stripe_webhook_answers_a_late_decline_the_same_way(self):
        """Odoo's endpoint, /payment/stripe/webhook, runs the same handler
        behind a laxer door: a late decline it applies is classed too."""
        enrollment, retry = self._charge_still_processing()
        payload = self._decline_event(retry, "evt_odoo_endpoint", "stolen_card", "Stolen card")
        self.assertEqual(self._post(payload, endpoint=ODOO_WEBHOOK).status_code, 200)
        self.assertEqual(
            (retry.outcome, retry.decline_code, retry.decline_class), ("failed", "stolen_card", "hard")
        )
        self.assertEqual(enrollment.retry_blocked, "hard")

    def test_a_payment_intent_without_description_is_found_by_its_id(self):
        """The charges of the core's 19.0.1.2.0 went through the Stripe SDK
        without a description: one still processing at the upgrade is found
        by its PaymentIntent id."""
        invoice, enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_sdk_path")
        payload = self._event(
            "payment_intent.succeeded",
            transaction,
            event_id="evt_sdk_path",
            description=None,
            **self._paying(transaction),
        )
        self.assertEqual(self._post(payload).status_code, 200)
        self.assertEqual(transaction.state, "done")
        transaction._post_process()
        self.assertEqual(enrollment.state, "paid")

    def _late_soft_decline(self, retry, event_id):
        payload = self._decline_event(retry, event_id, "insufficient_funds", "No funds")
        self.assertEqual(self._post(payload).status_code, 200)

    def test_a_late_soft_decline_plans_a_new_charge_of_its_own_stage(self):
        self.card_process.retry_schedule = "2"
        enrollment, retry = self._charge_still_processing()
        self.assertEqual((enrollment.next_stage_id, enrollment.next_action_date), (self.retry_2, days(4)))
        with self._at(days(2)):
            self._late_soft_decline(retry, "evt_late_soft")
        self.assertEqual((retry.outcome, retry.decline_class), ("failed", "soft"))
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date, enrollment.retry_next_date),
            (self.retry_1, days(4), days(4)),
            "the charge of the stage that was declined is tried again, 2 days after the decline",
        )
        self._token("pm_ok")
        self._run_engine(days(4))
        second = self._retries(enrollment) - retry
        self.assertEqual((second.stage_id, second.attempt, second.outcome), (self.retry_1, 2, "done"))
        self.assertEqual(enrollment.state, "paid")

    def test_a_soft_decline_after_the_process_moved_on_never_holds_it_back(self):
        self.card_process.retry_schedule = "2"
        self.retry_2.write(
            {
                "retry_payment": False,
                "send_email": True,
                "mail_template_id": self.env.ref("collections_automation.mail_template_overdue").id,
            }
        )
        enrollment, retry = self._charge_still_processing()
        self._run_engine(days(4))
        self.assertEqual(enrollment.stage_id, self.retry_2, "the email stage ran")
        self._late_soft_decline(retry, "evt_later_soft")
        self.assertEqual((retry.outcome, retry.decline_class), ("failed", "soft"))
        self.assertEqual((enrollment.next_stage_id, enrollment.next_action_date), (self.retry_3, days(7)))
        self.assertFalse(enrollment.retry_next_date)
        charges = len(self.fake_stripe.charges)
        self._run_engine(days(5))
        self._run_engine(days(6))
        self.assertEqual(len(self.fake_stripe.charges), charges, "the email stage never charges")
        self._run_engine(days(7))
        self.assertEqual(self._retries(enrollment)[-1].stage_id, self.retry_3)

    def test_a_decline_replayed_through_the_other_endpoint_is_answered_once(self):
        enrollment, retry = self._charge_still_processing()
        payload = self._decline_event(retry, "evt_both_endpoints", "expired_card", "Expired")
        self.assertEqual(self._post(payload).status_code, 200)
        emails = enrollment.message_ids.filtered(lambda m: "needs an update" in (m.subject or ""))
        self.assertEqual(len(emails), 1)
        self.assertEqual(self._post(payload, endpoint=ODOO_WEBHOOK).status_code, 200)
        self.assertEqual(
            enrollment.message_ids.filtered(lambda m: "needs an update" in (m.subject or "")),
            emails,
            "the customer is asked once",
        )

    def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(self):
        invoice, enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_forged")
        payload = self._event(
            "payment_intent.succeeded", transaction, event_id="evt_forged", **self._paying(transaction)
        )
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING"):
            self.assertEqual(
                self._post(payload, signature=self._signature(payload, "whsec_wrong")).status_code, 400
            )
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING"):
            self.assertEqual(self._post(payload, signature=False).status_code, 400)
        self.assertEqual(transaction.state, "pending")
        self.assertEqual(enrollment.state, "running")
        self.assertFalse(self.env["collection.webhook.event"].search([("event_id", "=", "evt_forged")]))

    # ------------------------------------------------------------------
    # Abuse
    # ------------------------------------------------------------------

    def test_a_payment_of_another_amount_or_currency_is_refused(self):
        """Odoo checks the amount and currency of what Stripe says was
        paid: a transaction paid otherwise is set in error, never done."""
        invoice, enrollment = self._enroll()
        for event_id, wrong in (
            ("evt_less", {"amount": round(invoice.amount_residual * 100) - 1}),
            ("evt_currency", {"currency": "jpy"}),
            ("evt_no_amount", {"amount": 0}),
        ):
            with self.subTest(event_id=event_id):
                transaction = self._pending_transaction(invoice, f"pi_{event_id}")
                payload = self._event(
                    "payment_intent.succeeded",
                    transaction,
                    event_id=event_id,
                    **{**self._paying(transaction), **wrong},
                )
                self.assertEqual(self._post(payload).status_code, 200)
                self.assertEqual(transaction.state, "error")
                transaction._post_process()
        self.assertEqual(enrollment.state, "running")
        self.assertFalse(invoice._get_reconciled_payments())

    def test_a_disabled_providers_secret_no_longer_authenticates(self):
        invoice, _enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_disabled")
        self.provider.state = "disabled"
        payload = self._event(
            "payment_intent.succeeded", transaction, event_id="evt_disabled", **self._paying(transaction)
        )
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING"):
            self.assertEqual(self._post(payload).status_code, 400)
        self.assertEqual(transaction.state, "pending")
        self.assertFalse(self.env["collection.webhook.event"].search([("event_id", "=", "evt_disabled")]))

    def test_an_oversized_body_is_refused_with_413(self):
        invoice, _enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_big")
        payload = self._event(
            "payment_intent.succeeded",
            transaction,
            event_id="evt_big",
            padding="x" * (65 * 1024),
            **self._paying(transaction),
        )
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            self.assertEqual(self._post(payload).status_code, 413)
        self.assertIn("too large", logs.output[0])
        self.assertEqual(transaction.state, "pending")

    def test_a_delivery_racing_another_of_the_same_event_is_a_replay(self):
        invoice, _enrollment = self._enroll()
        transaction = self._pending_transaction(invoice, "pi_hook_race")
        Received = self.env["collection.webhook.event"].sudo()
        provider = self.provider
        Received.create(
            {"provider_id": provider.id, "event_id": "evt_race", "event_type": "payment_intent.succeeded"}
        )
        # The other delivery's row is not visible yet when this one looks.
        with patch.object(type(Received), "search_count", return_value=0):
            self.assertFalse(Received._record_received(provider, "evt_race", "payment_intent.succeeded"))
        payload = self._event(
            "payment_intent.succeeded", transaction, event_id="evt_race", **self._paying(transaction)
        )
        with patch.object(type(Received), "search_count", return_value=0):
            self.assertEqual(self._post(payload).status_code, 200)
        self.assertEqual(transaction.state, "pending", "the replay was not applied again")
