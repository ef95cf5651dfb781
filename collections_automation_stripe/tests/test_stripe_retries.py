from odoo import fields
from odoo.addons.collections_automation.tests.common import DAY_0, CollectionsCommon, days
from odoo.addons.payment import utils as payment_utils
from odoo.addons.payment_stripe import const as stripe_const
from odoo.tests import tagged

from ..models.payment_provider import STRIPE_API_BASE_PARAM
from .stripe_servers import FakeStripe, free_port


class StripeRetryCommon(CollectionsCommon):
    """A Stripe provider for the test company, a card process that retries
    on days 1, 4 and 7 after the due date, and the fake Stripe API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        provider = cls.env["payment.provider"].search(
            [("code", "=", "stripe"), ("company_id", "=", company.id)], limit=1
        ) or cls.env.ref("payment.payment_provider_stripe").copy({"company_id": company.id})
        provider.write(
            {
                "state": "test",
                "stripe_secret_key": "sk_test_collections",
                "stripe_publishable_key": "pk_test_collections",
                "stripe_webhook_secret": "whsec_collections",
            }
        )
        cls.provider = provider
        cls.card_process = cls.env["collection.process"].create(
            {
                "name": "Card on file",
                # Each retry stage charges once: the ladder is the schedule.
                "retry_schedule": "",
                "stage_ids": [
                    fields.Command.create(
                        {"name": f"Retry {day}", "sequence": day, "delay_days": day, "retry_payment": True}
                    )
                    for day in (1, 4, 7)
                ],
            }
        )
        cls.retry_1, cls.retry_2, cls.retry_3 = cls.card_process.stage_ids.sorted("sequence")
        cls.fake_stripe = FakeStripe("sk_test_collections").start()
        cls.addClassCleanup(cls.fake_stripe.stop)
        cls.env["ir.config_parameter"].set_param(STRIPE_API_BASE_PARAM, cls.fake_stripe.url)

    @classmethod
    def _token(cls, payment_method, customer="cus_collections"):
        return cls.env["payment.token"].create(
            {
                "provider_id": cls.provider.id,
                "payment_method_id": cls.env.ref("payment.payment_method_card").id,
                "partner_id": cls.customer.id,
                "provider_ref": customer,
                "stripe_payment_method": payment_method,
                "payment_details": "4242",
            }
        )

    def _enroll(self, amount=300.0):
        invoice = self._create_invoice(amount=amount)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.card_process.id)
        return invoice, enrollment

    def _retries(self, enrollment):
        return enrollment.event_ids.filtered(lambda e: e.action == "payment_retry").sorted("id")

    def _stripe_idempotency_key(self, retry):
        """The idempotency key Odoo's Stripe module sends with the charge
        of ``retry``."""
        return payment_utils.generate_idempotency_key(retry.payment_transaction_id, scope="payment_intents")


@tagged("post_install", "-at_install")
class TestStripeRetries(StripeRetryCommon):
    def test_a_successful_retry_pays_the_invoice_at_once(self):
        self._token("pm_ok")
        invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        retry = self._retries(enrollment)
        self.assertEqual(retry.outcome, "done")
        transaction = retry.payment_transaction_id
        self.assertEqual((transaction.state, transaction.operation), ("done", "offline"))
        self.assertTrue(transaction.provider_reference.startswith("pi_fake_"))
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(enrollment.state, "paid")
        key, params = self.fake_stripe.charges[-1]
        self.assertEqual(params["amount"], "30000", "minor units")
        self.assertEqual(params["off_session"], "True")
        self.assertEqual(params["payment_method"], "pm_ok")
        self.assertEqual(params["description"], transaction.reference, "Odoo's webhook finds it by this")
        self.assertEqual(key, self._stripe_idempotency_key(retry))

    def test_without_a_schedule_a_soft_decline_retries_at_the_next_retry_stage(self):
        self._token("pm_decline_insufficient_funds")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        first = self._retries(enrollment)
        self.assertEqual(
            (first.outcome, first.decline_code, first.decline_class), ("failed", "insufficient_funds", "soft")
        )
        self.assertEqual(enrollment.state, "running")
        self.assertFalse(enrollment.retry_blocked)
        self._run_engine(days(4))
        second = self._retries(enrollment)[1:]
        self.assertEqual(second.outcome, "failed", "charged again, with a new idempotency key")
        self.assertNotEqual(self.fake_stripe.charges[-1][0], self.fake_stripe.charges[-2][0])

    def _scheduled_retry_enrollment(self, payment_method):
        """An invoice in a process whose one retry stage, on day 1, also
        emails, then tries again 2 and 3 days after each soft decline before
        its final notice, 5 days later."""
        process = self.env["collection.process"].create(
            {
                "name": "Card on file, with a retry schedule",
                "retry_schedule": "2, 3",
                "stage_ids": [
                    fields.Command.create(
                        {
                            "name": "Charge and tell",
                            "delay_days": 1,
                            "retry_payment": True,
                            "send_email": True,
                            "mail_template_id": self.env.ref(
                                "collections_automation.mail_template_overdue"
                            ).id,
                        }
                    ),
                    fields.Command.create(
                        {"name": "Final notice", "delay_days": 5, "delay_from": "previous_stage"}
                    ),
                ],
            }
        )
        token = self._token(payment_method)
        invoice = self._create_invoice(amount=300.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=process.id)
        return process, token, invoice, enrollment

    def test_a_soft_decline_is_tried_again_on_the_process_retry_schedule(self):
        process, _token, _invoice, enrollment = self._scheduled_retry_enrollment(
            "pm_decline_insufficient_funds"
        )
        charge_stage, final_stage = process.stage_ids.sorted("sequence")
        self._run_engine(days(1))
        self.assertEqual(
            (enrollment.stage_id, enrollment.next_stage_id, enrollment.next_action_date),
            (charge_stage, charge_stage, days(3)),
            "the process waits at its retry stage",
        )
        self.assertEqual((enrollment.retry_attempt, enrollment.retry_next_date), (1, days(3)))
        self.assertIn("next attempt on", enrollment.message_ids[0].body)
        self._run_engine(days(2))
        self.assertEqual(len(self._retries(enrollment)), 1, "nothing before the planned day")
        self._run_engine(days(3))
        self.assertEqual(enrollment.next_action_date, days(6))
        self._run_engine(days(6))
        retries = self._retries(enrollment)
        self.assertEqual(retries.mapped("attempt"), [1, 2, 3])
        self.assertEqual(set(retries.mapped("outcome")), {"failed"})
        keys = [key for key, _params in self.fake_stripe.charges[-3:]]
        self.assertEqual(len(set(keys)), 3, "one idempotency key per attempt")
        self.assertEqual(len(self._reminders(enrollment)), 1, "the stage's email went out once")
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date, enrollment.retry_attempt),
            (final_stage, days(11), 0),
            "the schedule is done: the process moves on",
        )
        self.assertIn("retry schedule is done", enrollment.message_ids[0].body)

    def test_a_scheduled_attempt_that_passes_pays_the_invoice(self):
        _process, token, invoice, enrollment = self._scheduled_retry_enrollment("pm_decline_processing_error")
        self._run_engine(days(1))
        self.assertEqual(self._retries(enrollment).decline_class, "soft")
        token.stripe_payment_method = "pm_ok"  # the customer's funds came in
        self._run_engine(days(3))
        second = self._retries(enrollment)[1:]
        self.assertEqual((second.attempt, second.outcome), (2, "done"))
        self.assertEqual(enrollment.state, "paid")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.fake_stripe.charges[-1][0], self._stripe_idempotency_key(second))

    def test_a_scheduled_attempt_stops_when_the_customer_must_act(self):
        process, token, _invoice, enrollment = self._scheduled_retry_enrollment(
            "pm_decline_insufficient_funds"
        )
        final_stage = process.stage_ids.sorted("sequence")[-1]
        self._run_engine(days(1))
        token.stripe_payment_method = "pm_decline_expired_card"
        self._run_engine(days(3))
        self.assertEqual(self._retries(enrollment)[1].decline_class, "customer")
        self.assertEqual(enrollment.retry_blocked, "customer")
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date),
            (final_stage, days(8)),
            "no third attempt",
        )

    def test_a_decline_that_needs_the_customer_asks_for_a_new_payment_method(self):
        old_token = self._token("pm_decline_expired_card")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        first = self._retries(enrollment)
        self.assertEqual((first.decline_code, first.decline_class), ("expired_card", "customer"))
        self.assertTrue(
            first.payment_transaction_id.provider_reference.startswith("pi_fake_"),
            "the declined PaymentIntent is known, for Stripe's dashboard",
        )
        self.assertEqual(
            (enrollment.retry_blocked, enrollment.retry_blocked_token_id), ("customer", old_token)
        )
        email = enrollment.message_ids.filtered(lambda m: "needs an update" in (m.subject or ""))
        self.assertEqual(len(email), 1)
        self.assertIn("/my/collections/", str(email.body))
        charges = len(self.fake_stripe.charges)
        self._run_engine(days(4))
        self.assertEqual(self._retries(enrollment)[1].outcome, "skipped", "never the same card again")
        self.assertEqual(len(self.fake_stripe.charges), charges)
        self._token("pm_ok")  # the customer saved a new card
        self._run_engine(days(7))
        self.assertEqual(self._retries(enrollment)[2].outcome, "done")
        self.assertEqual(enrollment.state, "paid")

    def test_a_hard_decline_never_retries(self):
        self._token("pm_decline_fraudulent")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        self.assertEqual(self._retries(enrollment).decline_class, "hard")
        self.assertEqual(enrollment.retry_blocked, "hard")
        self._token("pm_ok")
        self._run_engine(days(4))
        self.assertEqual(self._retries(enrollment)[1].outcome, "skipped", "not even with another card")

    def test_the_advice_code_wins_over_the_decline_code(self):
        self._token("pm_decline_generic_decline__do_not_try_again")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        retry = self._retries(enrollment)
        self.assertEqual((retry.decline_code, retry.advice_code), ("generic_decline", "do_not_try_again"))
        self.assertEqual(retry.decline_class, "hard")

    def test_an_admin_adjusts_the_class_of_a_code(self):
        self.env.ref("collections_automation.decline_decline_insufficient_funds").decline_class = "hard"
        self._token("pm_decline_insufficient_funds")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        self.assertEqual(enrollment.retry_blocked, "hard")

    def test_a_crash_after_the_charge_then_a_rerun_charges_once(self):
        self._token("pm_ok")
        invoice, enrollment = self._enroll()
        with self._at(days(1)):
            # The worker dies after Stripe charged, before its commit.
            with self.assertRaises(RuntimeError), self.env.cr.savepoint():
                self.env["collection.stage.action.payment_retry"]._charge(enrollment, self.retry_1)
                raise RuntimeError("worker killed")
            self.env.invalidate_all()
            self.assertFalse(self._retries(enrollment), "the event was rolled back with the crash")
            self.assertEqual(len(self.fake_stripe.charges), 1, "Stripe did charge once")
            self.env["collection.engine"]._cron_run()
        self.assertEqual(len(self.fake_stripe.charges), 1, "the rerun did not charge again")
        self.assertEqual(self._retries(enrollment).outcome, "done")
        self.assertEqual(enrollment.state, "paid")
        self.assertEqual(len(invoice._get_reconciled_payments()), 1)


@tagged("post_install", "-at_install")
class TestStripeChargeRequest(StripeRetryCommon):
    """The charge is Odoo's Stripe request; what the bridge adds is read
    off Stripe's answer."""

    def test_the_charge_is_odoos_stripe_request_for_the_saved_card(self):
        self._token("pm_ok", customer="cus_saved")
        _invoice, enrollment = self._enroll(amount=125.5)
        intent_id = f"pi_fake_{len(self.fake_stripe.charges)}"
        self._run_engine(days(1))
        transaction = self._retries(enrollment).payment_transaction_id
        key, params = self.fake_stripe.charges[-1]
        self.assertEqual(
            {
                name: params.get(name)
                for name in ("amount", "currency", "customer", "payment_method", "confirm")
            },
            {
                "amount": "12550",
                "currency": transaction.currency_id.name.lower(),
                "customer": "cus_saved",
                "payment_method": "pm_ok",
                "confirm": "True",
            },
        )
        self.assertEqual(self.fake_stripe.headers[-1]["Stripe-Version"], stripe_const.API_VERSION)
        self.assertEqual(key, self._stripe_idempotency_key(self._retries(enrollment)))
        self.assertEqual(
            (transaction.state, transaction.provider_reference, transaction.payment_method_id.code),
            ("done", intent_id, "visa"),
            "Odoo read the PaymentIntent and its card",
        )
        self.assertEqual(enrollment.state, "paid")

    def test_a_charge_the_bank_wants_authenticated_fails_off_session(self):
        self._token("pm_requires_action")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        retry = self._retries(enrollment)
        self.assertEqual(retry.payment_transaction_id.state, "error", "not left in draft for ever")
        self.assertIn("authenticate", retry.payment_transaction_id.state_message)
        self.assertEqual(
            (retry.outcome, retry.decline_code, retry.decline_class),
            ("failed", "authentication_required", "customer"),
        )
        self.assertEqual(enrollment.retry_blocked, "customer", "the customer is asked to pay on the page")

    def test_a_stripe_out_of_reach_fails_the_charge_and_the_schedule_tries_again(self):
        self.env["ir.config_parameter"].set_param(STRIPE_API_BASE_PARAM, f"http://127.0.0.1:{free_port()}")
        self._token("pm_ok")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        retry = self._retries(enrollment)
        self.assertEqual(retry.payment_transaction_id.state, "error")
        self.assertIn("connection", retry.payment_transaction_id.state_message)
        self.assertEqual((retry.outcome, retry.decline_code, retry.decline_class), ("failed", False, "soft"))
        self.assertFalse(enrollment.retry_blocked)
        self.env["ir.config_parameter"].set_param(STRIPE_API_BASE_PARAM, self.fake_stripe.url)
        self._run_engine(days(4))
        self.assertEqual(self._retries(enrollment)[1].outcome, "done")
        self.assertEqual(enrollment.state, "paid")

    def test_a_request_stripe_refuses_keeps_its_message(self):
        self.provider.stripe_secret_key = "sk_test_revoked"
        self._token("pm_ok")
        _invoice, enrollment = self._enroll()
        charges = len(self.fake_stripe.charges)
        self._run_engine(days(1))
        retry = self._retries(enrollment)
        self.assertEqual(retry.outcome, "failed")
        self.assertIn("Invalid API Key provided", retry.payment_transaction_id.state_message)
        self.assertEqual(len(self.fake_stripe.charges), charges, "nothing was charged")
