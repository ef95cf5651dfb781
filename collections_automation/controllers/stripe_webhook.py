import logging

import stripe

from odoo import http
from odoo.http import request

_logger = logging.getLogger(__name__)


class CollectionsStripeWebhook(http.Controller):
    """Stripe events about the engine's off-session charges (and any
    PaymentIntent of a transaction Odoo knows), verified with the signing
    secret of the Stripe provider."""

    @http.route("/collections/stripe/webhook", type="http", auth="public", methods=["POST"], csrf=False)
    def collections_stripe_webhook(self):
        payload = request.httprequest.get_data()
        signature = request.httprequest.headers.get("Stripe-Signature")
        # Read as superuser: a webhook has no user; the signature below is
        # what authenticates it.
        providers = (
            request.env["payment.provider"]
            .sudo()
            .search([("code", "=", "stripe"), ("stripe_webhook_secret", "!=", False)])
        )
        for provider in providers:
            try:
                event = stripe.Webhook.construct_event(payload, signature, provider.stripe_webhook_secret)
            except (ValueError, stripe.SignatureVerificationError):
                continue
            break
        else:
            _logger.warning(
                "collections: Stripe webhook refused from %s: bad or missing signature",
                request.httprequest.remote_addr,
            )
            return request.make_json_response({"error": "invalid signature"}, status=400)
        if (
            request.env["collection.webhook.event"]
            .sudo()
            ._record_received(provider, event["id"], event["type"])
        ):
            request.env["payment.transaction"].sudo()._collection_handle_stripe_event(provider, event)
        else:
            _logger.info("collections: Stripe event %s replayed, ignored", event["id"])
        return request.make_json_response({"received": True})
