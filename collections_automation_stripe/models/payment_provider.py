from odoo import models
from odoo.tools.urls import urljoin

STRIPE_API_BASE_PARAM = "collections_automation.stripe_api_base"
# The context key under which the engine's charge collects Stripe's answer
# (see payment_transaction.StripeChargeAnswer).
STRIPE_ANSWER_KEY = "collection_stripe_answer"


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    def _build_request_url(self, endpoint, *, is_proxy_request=False, **kwargs):
        """Stripe's API address, or the stand-in named by the system
        parameter ``collections_automation.stripe_api_base`` (the tests'
        fake Stripe on 127.0.0.1)."""
        base = self.code == "stripe" and not is_proxy_request and self._get_collection_stripe_api_base()
        if base:
            return urljoin(f"{base.rstrip('/')}/v1/", endpoint)
        return super()._build_request_url(endpoint, is_proxy_request=is_proxy_request, **kwargs)

    def _get_collection_stripe_api_base(self):
        return self.env["ir.config_parameter"].sudo().get_param(STRIPE_API_BASE_PARAM)

    def _parse_response_error(self, response):
        """Odoo's Stripe module keeps only the message of a refusal. The
        engine's charge also needs its decline and advice codes and its
        PaymentIntent: they are handed to the charge that asked."""
        message = super()._parse_response_error(response)
        answer = self.env.context.get(STRIPE_ANSWER_KEY)
        if self.code == "stripe" and answer is not None:
            answer.error = response.json().get("error") or {}
        return message
