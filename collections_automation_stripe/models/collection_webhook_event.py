from psycopg2.errors import UniqueViolation

from odoo import api, fields, models


class CollectionWebhookEvent(models.Model):
    """The provider events already applied: a replayed event (same id) is
    recognised and ignored."""

    _name = "collection.webhook.event"
    _description = "Payment Provider Event Received"
    _order = "id desc"

    provider_id = fields.Many2one("payment.provider", required=True, ondelete="cascade")
    event_id = fields.Char(required=True)
    event_type = fields.Char()

    _event_unique = models.Constraint(
        "UNIQUE (provider_id, event_id)", "This provider event was already received."
    )

    @api.model
    def _record_received(self, provider, event_id, event_type):
        """Record the event; False when it was received before."""
        if self.search_count([("provider_id", "=", provider.id), ("event_id", "=", event_id)], limit=1):
            return False
        try:
            # A second delivery of the event at the same moment waits for the
            # first one here, then fails on the unique key: it is a replay.
            with self.env.cr.savepoint():
                self.create({"provider_id": provider.id, "event_id": event_id, "event_type": event_type})
        except UniqueViolation:
            return False
        return True
