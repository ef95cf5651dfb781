import logging

import stripe
from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.addons.payment_stripe.controllers.main import StripeController
from odoo.http import request

_logger = logging.getLogger(__name__)

WEBHOOK_MAX_BYTES = 64 * 1024


class CollectionsStripeWebhook(StripeController):
    """Odoo's Stripe webhook behind a stricter door: an event is applied
    only with a valid signature of an enabled Stripe provider (Odoo's own
    endpoint takes unsigned events while the provider has no signing
    secret), only once (a replayed event id is acknowledged and ignored),
    and only if it is the size of an event. Then Odoo's own handler applies
    it, so both endpoints update transactions the same way."""

    @http.route("/collections/stripe/webhook", type="http", auth="public", methods=["POST"], csrf=False)
    def collections_stripe_webhook(self):
        httprequest = request.httprequest
        # Stripe's events are a few KiB: anything far larger is not one, and
        # is refused before it is read or checked against every secret.
        if (httprequest.content_length or 0) > WEBHOOK_MAX_BYTES:
            return self._refuse(413, "payload too large")
        # A body sent without its length is cut at the same size.
        httprequest.max_content_length = WEBHOOK_MAX_BYTES
        try:
            payload = httprequest.get_data()
        except RequestEntityTooLarge:
            return self._refuse(413, "payload too large")
        signature = httprequest.headers.get("Stripe-Signature")
        # Read as superuser: a webhook has no user; the signature below is
        # what authenticates it. A disabled provider's secret no longer does.
        providers = (
            request.env["payment.provider"]
            .sudo()
            .search(
                [
                    ("code", "=", "stripe"),
                    ("state", "in", ("enabled", "test")),
                    ("stripe_webhook_secret", "!=", False),
                ]
            )
        )
        for provider in providers:
            try:
                event = stripe.Webhook.construct_event(payload, signature, provider.stripe_webhook_secret)
            except (ValueError, stripe.SignatureVerificationError):
                continue
            break
        else:
            return self._refuse(400, "invalid signature")
        if (
            request.env["collection.webhook.event"]
            .sudo()
            ._record_received(provider, event["id"], event["type"])
        ):
            return self.stripe_webhook()
        _logger.info("collections: Stripe event %s replayed, ignored", event["id"])
        return request.make_json_response({"received": True})

    def _refuse(self, status, reason):
        _logger.warning(
            "collections: Stripe webhook refused from %s: %s", request.httprequest.remote_addr, reason
        )
        return request.make_json_response({"error": reason}, status=status)
