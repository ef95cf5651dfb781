from datetime import timedelta

import stripe

from odoo import fields
from odoo.tests import tagged

from ..models.payment_transaction import STRIPE_API_BASE_PARAM
from .common import DAY_0, CollectionsCommon
from .stripe_servers import FakeStripe, LocalStripe


def days(count):
    return DAY_0 + timedelta(days=count)


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
                "stage_ids": [
                    fields.Command.create(
                        {"name": f"Retry {day}", "sequence": day, "delay_days": day, "retry_payment": True}
                    )
                    for day in (1, 4, 7)
                ],
            }
        )
        cls.retry_1, cls.retry_2, cls.retry_3 = cls.card_process.stage_ids.sorted("sequence")
        cls.fake_stripe = FakeStripe().start()
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
        self.assertEqual(params["off_session"], "true")
        self.assertEqual(params["payment_method"], "pm_ok")
        self.assertEqual(key, f"odoo-collections-{retry.key}")

    def test_a_soft_decline_retries_at_the_next_retry_stage(self):
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

    def test_a_decline_that_needs_the_customer_asks_for_a_new_payment_method(self):
        old_token = self._token("pm_decline_expired_card")
        _invoice, enrollment = self._enroll()
        self._run_engine(days(1))
        first = self._retries(enrollment)
        self.assertEqual((first.decline_code, first.decline_class), ("expired_card", "customer"))
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
                enrollment._collection_retry_payment(self.retry_1)
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
class TestStripeRetriesWithLocalstripe(StripeRetryCommon):
    """The same SDK path against localstripe, which keeps real customers,
    payment methods and PaymentIntents."""

    def test_a_retry_charges_the_saved_card_in_localstripe(self):
        server = LocalStripe().start()
        self.addCleanup(server.stop)
        self.env["ir.config_parameter"].set_param(STRIPE_API_BASE_PARAM, server.url)
        client = stripe.StripeClient("sk_test_collections", base_addresses={"api": server.url})
        customer = client.v1.customers.create(params={"email": self.customer.email})
        card = client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
            }
        )
        client.v1.payment_methods.attach(card.id, params={"customer": customer.id})
        self._token(card.id, customer=customer.id)
        invoice, enrollment = self._enroll(amount=125.5)
        self._run_engine(days(1))
        transaction = self._retries(enrollment).payment_transaction_id
        intent = client.v1.payment_intents.retrieve(transaction.provider_reference)
        self.assertEqual((intent.status, intent.amount, intent.customer), ("succeeded", 12550, customer.id))
        self.assertEqual(transaction.state, "done")
        self.assertEqual(enrollment.state, "paid")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))


@tagged("post_install", "-at_install")
class TestProviderAgnosticRetries(CollectionsCommon):
    """Tokens of other providers are charged through Odoo's own token flow
    (here the demo provider)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.provider = cls.env["payment.provider"].search(
            [("code", "=", "demo"), ("company_id", "=", company.id)], limit=1
        ) or cls.env.ref("payment.payment_provider_demo").copy({"company_id": company.id})
        cls.provider.state = "test"
        cls.reminder_stage.retry_payment = True

    def _demo_token(self, simulated_state):
        return self.env["payment.token"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "partner_id": self.customer.id,
                "provider_ref": "demo",
                "payment_details": "4242",
                "demo_simulated_state": simulated_state,
            }
        )

    def test_a_retry_with_a_demo_token_pays_the_invoice(self):
        self._demo_token("done")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        retry = enrollment.event_ids.filtered(lambda e: e.action == "payment_retry")
        self.assertEqual((retry.outcome, retry.payment_transaction_id.state), ("done", "done"))
        self.assertEqual(retry.payment_transaction_id.operation, "offline")
        self.assertEqual(enrollment.state, "paid")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_a_failed_demo_retry_is_logged_and_the_process_goes_on(self):
        self._demo_token("error")
        invoice = self._create_invoice(amount=200.0)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        retry = enrollment.event_ids.filtered(lambda e: e.action == "payment_retry")
        self.assertEqual((retry.outcome, retry.decline_class), ("failed", "soft"))
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.stage_id, self.reminder_stage)
