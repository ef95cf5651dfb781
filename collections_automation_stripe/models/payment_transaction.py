import logging

import stripe

from odoo import models
from odoo.addons.payment import utils as payment_utils

_logger = logging.getLogger(__name__)

STRIPE_API_BASE_PARAM = "collections_automation.stripe_api_base"


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    # ------------------------------------------------------------------
    # Off-session charges of the collections engine
    # ------------------------------------------------------------------

    def _collection_charge(self, idempotency_key):
        """Stripe tokens go through the Stripe SDK, which keeps the decline
        and advice codes that Odoo's Stripe module drops."""
        self.ensure_one()
        if self.provider_code == "stripe":
            return self._collection_charge_stripe(idempotency_key)
        return super()._collection_charge(idempotency_key)

    def _collection_stripe_client(self):
        """A Stripe client with the provider's secret key. The API address
        can be redirected with a system parameter (the tests point it at a
        local Stripe stand-in)."""
        base = self.env["ir.config_parameter"].sudo().get_param(STRIPE_API_BASE_PARAM)
        options = {"base_addresses": {"api": base}} if base else {}
        return stripe.StripeClient(self.provider_id.stripe_secret_key, max_network_retries=0, **options)

    def _collection_prepare_stripe_intent_params(self, idempotency_key):
        """Only deterministic values: a rerun with the same idempotency key
        must send the same request, or Stripe refuses it."""
        token = self.token_id
        return {
            "amount": payment_utils.to_minor_currency_units(self.amount, self.currency_id),
            "currency": self.currency_id.name.lower(),
            "customer": token.provider_ref,
            "payment_method": token.stripe_payment_method,
            "off_session": True,
            "confirm": True,
            "metadata": {
                "odoo_collection_key": idempotency_key,
                "odoo_document": self.invoice_ids[:1].name or self.collection_enrollment_id.name or "",
            },
        }

    def _collection_charge_stripe(self, idempotency_key):
        try:
            intent = self._collection_stripe_client().v1.payment_intents.create(
                params=self._collection_prepare_stripe_intent_params(idempotency_key),
                options={"idempotency_key": f"odoo-collections-{idempotency_key}"},
            )
        except stripe.CardError as error:
            details = error.error.to_dict() if error.error else {}
            if details.get("payment_intent"):
                self.provider_reference = details["payment_intent"].get("id")
            self._set_error(error.user_message or str(error))
            return details.get("decline_code") or error.code, details.get("advice_code")
        except stripe.StripeError as error:
            # Not a decline: Stripe could not be reached or refused the
            # request. The retry failed; the process's next retry tries again.
            _logger.warning("collections: Stripe charge %s failed: %s", self.reference, error)
            self._set_error(self.env._("Stripe could not process the payment: %(error)s", error=error))
            return getattr(error, "code", None), None
        intent = intent.to_dict()
        self._collection_apply_stripe_intent(intent)
        if intent["status"] == "requires_action":
            return "authentication_required", None
        return None, None

    def _collection_apply_stripe_intent(self, intent):
        """Drive the transaction's state from a PaymentIntent, so that
        Odoo does the accounting."""
        self.provider_reference = intent["id"]
        status = intent["status"]
        if status == "succeeded":
            self._set_done()
        elif status == "processing":
            self._set_pending()
        elif status == "requires_capture":
            self._set_authorized()
        elif status == "requires_action":
            self._set_error(self.env._("The bank asks the customer to authenticate this payment."))
        elif status == "canceled":
            self._set_canceled()
        else:
            error = intent.get("last_payment_error") or {}
            self._set_error(error.get("message") or self.env._("The payment was declined."))

    # ------------------------------------------------------------------
    # Stripe webhooks (see controllers/stripe_webhook.py)
    # ------------------------------------------------------------------

    def _collection_find_stripe_transaction(self, provider, intent):
        transaction = self.search(
            [("provider_id", "=", provider.id), ("provider_reference", "=", intent["id"])], limit=1
        )
        key = (intent.get("metadata") or {}).get("odoo_collection_key")
        if not transaction and key:
            event = self.env["collection.event"].search(
                [("key", "=", key), ("payment_transaction_id", "!=", False)], limit=1
            )
            transaction = event.payment_transaction_id
        return transaction

    def _collection_stripe_amount_matches(self, intent):
        """Whether the PaymentIntent paid this transaction's amount, in its
        currency (Stripe counts in minor units)."""
        self.ensure_one()
        expected = payment_utils.to_minor_currency_units(self.amount, self.currency_id)
        received = intent.get("amount_received") or intent.get("amount")
        return (
            received == expected and (intent.get("currency") or "").lower() == self.currency_id.name.lower()
        )

    def _collection_handle_stripe_event(self, provider, event):
        """Apply a verified Stripe event to its transaction."""
        if event["type"] not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            return
        intent = event["data"]["object"]
        intent = intent.to_dict() if hasattr(intent, "to_dict") else intent
        transaction = self._collection_find_stripe_transaction(provider, intent)
        if not transaction:
            _logger.info("collections: Stripe event %s matches no transaction", event["id"])
            return
        if event["type"] == "payment_intent.succeeded":
            if transaction.state != "done":
                if not transaction._collection_stripe_amount_matches(intent):
                    _logger.warning(
                        "collections: Stripe event %s paid %s %s, transaction %s expects %s %s: "
                        "not confirmed",
                        event["id"],
                        intent.get("amount"),
                        intent.get("currency"),
                        transaction.reference,
                        payment_utils.to_minor_currency_units(transaction.amount, transaction.currency_id),
                        transaction.currency_id.name.lower(),
                    )
                    return
                transaction._set_done()
                transaction._post_process()
            return
        if transaction.state in ("error", "cancel"):
            return
        error = intent.get("last_payment_error") or {}
        transaction._set_error(error.get("message") or self.env._("The payment was declined."))
        collection_event = self.env["collection.event"].search(
            [("payment_transaction_id", "=", transaction.id)], limit=1
        )
        if collection_event:
            decline_code = error.get("decline_code") or error.get("code")
            advice_code = error.get("advice_code")
            enrollment = collection_event.enrollment_id
            collection_event.write(
                {
                    "outcome": "failed",
                    "decline_code": decline_code,
                    "advice_code": advice_code,
                    "decline_class": self.env["collection.stage.action.payment_retry"]._handle_decline(
                        enrollment,
                        transaction.token_id,
                        decline_code,
                        advice_code,
                        attempt=max(collection_event.attempt - 1, 0),
                        declined_stage=collection_event.stage_id,
                    ),
                    "message": transaction.state_message,
                }
            )
