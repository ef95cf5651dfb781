from odoo import api, models

from .payment_provider import STRIPE_ANSWER_KEY

# PaymentIntent statuses that Odoo's Stripe module leaves in draft but that
# an off-session charge cannot get past without the customer.
STRIPE_CUSTOMER_ACTION_STATUSES = ("requires_action", "requires_confirmation")


def get_stripe_error_codes(error):
    """(decline code, advice code) of a Stripe error object."""
    return error.get("decline_code") or error.get("code"), error.get("advice_code")


class StripeChargeAnswer:
    """What Stripe answered to one off-session charge of the engine: the
    PaymentIntent of a charge it took, or the error of one it refused, with
    the decline and advice codes that Odoo's Stripe module leaves out of its
    message. Compared by identity: each charge's context, and so its
    environment, is its own."""

    __slots__ = ("error", "intent")

    def __init__(self):
        self.error = {}
        self.intent = {}

    def get_codes(self):
        """(decline code, advice code) of a refusal, else (None, None)."""
        error = self.error or self.intent.get("last_payment_error")
        if error:
            return get_stripe_error_codes(error)
        if self.intent.get("status") in STRIPE_CUSTOMER_ACTION_STATUSES:
            return "authentication_required", None
        return None, None

    def get_intent_id(self):
        return self.intent.get("id") or (self.error.get("payment_intent") or {}).get("id")


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    # ------------------------------------------------------------------
    # Off-session charges of the collections engine
    # ------------------------------------------------------------------

    def _collection_charge(self, idempotency_key):
        """A Stripe card is charged by Odoo's own Stripe module, as any
        token payment: same request, same webhook. Its idempotency key is
        made of the transaction's reference, itself made of
        ``idempotency_key``, so a rerun after a crash gets Stripe's first
        answer. What the module does not keep of the answer, the decline
        and advice codes, is collected on the way."""
        self.ensure_one()
        if self.provider_code != "stripe":
            return super()._collection_charge(idempotency_key)
        answer = StripeChargeAnswer()
        self.with_context(**{STRIPE_ANSWER_KEY: answer})._charge_with_token()
        if not self.provider_reference and answer.get_intent_id():
            self.provider_reference = answer.get_intent_id()
        if self.state == "draft" and answer.intent.get("status") in STRIPE_CUSTOMER_ACTION_STATUSES:
            # Off-session, nobody is there to authenticate: the charge failed.
            self._set_error(self.env._("The bank asks the customer to authenticate this payment."))
        return answer.get_codes()

    def _apply_updates(self, payment_data):
        state_before = self.state
        result = super()._apply_updates(payment_data)
        if self.provider_code != "stripe" or self.operation != "offline":
            return result
        intent = payment_data.get("payment_intent") or {}
        answer = self.env.context.get(STRIPE_ANSWER_KEY)
        if answer is not None:
            answer.intent = intent
        elif self.collection_enrollment_id and self.state != state_before:
            self._collection_apply_late_stripe_outcome(intent)
        return result

    def _collection_apply_late_stripe_outcome(self, intent):
        """A charge of the engine that Stripe settled after the engine ran
        (by webhook): a decline is answered by its class, as one known at
        once; a payment is booked by Odoo's post-processing, started now."""
        if self.state == "done":
            self.env.ref("payment.cron_post_process_payment_tx")._trigger()
            return
        if self.state != "error":
            return
        collection_event = self.env["collection.event"].search(
            [("payment_transaction_id", "=", self.id)], limit=1
        )
        if not collection_event:
            return
        decline_code, advice_code = get_stripe_error_codes(intent.get("last_payment_error") or {})
        collection_event.write(
            {
                "outcome": "failed",
                "decline_code": decline_code,
                "advice_code": advice_code,
                "decline_class": self.env["collection.stage.action.payment_retry"]._handle_decline(
                    collection_event.enrollment_id,
                    self.token_id,
                    decline_code,
                    advice_code,
                    attempt=max(collection_event.attempt - 1, 0),
                    declined_stage=collection_event.stage_id,
                ),
                "message": self.state_message,
            }
        )

    @api.model
    def _search_by_reference(self, provider_code, payment_data):
        """Odoo finds a Stripe transaction by the PaymentIntent's
        description, its reference. The charges made before this module
        used Odoo's request (19.0.1.2.0 of the core) have none: they are
        found by the PaymentIntent's id."""
        intent_id = payment_data.get("object_id")
        if (
            provider_code == "stripe"
            and not payment_data.get("reference")
            and intent_id
            and str(payment_data.get("event_type", "")).startswith("payment_intent.")
        ):
            transaction = self.search(
                [("provider_reference", "=", intent_id), ("provider_code", "=", "stripe")]
            )
            if transaction:
                return transaction
        return super()._search_by_reference(provider_code, payment_data)
