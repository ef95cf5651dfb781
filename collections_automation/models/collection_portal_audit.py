from datetime import timedelta

from odoo import api, fields, models

PORTAL_ACTIONS = [
    ("pay", "Pay"),
    ("promise", "Promise to pay"),
    ("dispute", "Dispute"),
    ("save_payment_method", "Save a payment method"),
]
PORTAL_OUTCOMES = [
    ("done", "Done"),
    ("refused", "Refused"),
    ("limited", "Too many attempts"),
]
# Form posts a payment request takes per hour, per action; past that, 429.
FORM_POSTS_PER_HOUR = 5
TEXT_MAX_LENGTH = 256


class CollectionPortalAudit(models.Model):
    """One line per action a visitor took on a payment-request page: who
    (address, browser, user), what, and how it ended. It is also what the
    page counts to limit form posts."""

    _name = "collection.portal.audit"
    _description = "Payment Request Page Audit"
    _order = "create_date desc, id desc"
    _rec_name = "action"

    enrollment_id = fields.Many2one(
        "collection.enrollment", string="Request", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="enrollment_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="enrollment_id.partner_id", store=True)
    action = fields.Selection(PORTAL_ACTIONS, required=True, readonly=True)
    outcome = fields.Selection(PORTAL_OUTCOMES, required=True, readonly=True)
    message = fields.Char(readonly=True)
    ip_address = fields.Char(string="IP address", readonly=True)
    user_agent = fields.Char(readonly=True)
    user_id = fields.Many2one("res.users", string="Logged-in user", readonly=True, ondelete="set null")

    _enrollment_action_date_idx = models.Index("(enrollment_id, action, create_date)")

    @api.model
    def _count_recent(self, enrollments, action, hours=1):
        """How many times ``action`` was posted on the pages of
        ``enrollments`` in the last ``hours``, whatever the outcome."""
        since = self.env.cr.now() - timedelta(hours=hours)
        return self.search_count(
            [("enrollment_id", "in", enrollments.ids), ("action", "=", action), ("create_date", ">=", since)]
        )

    @api.model
    def _prepare_audit_values(self, enrollment, action, outcome, message=None, httprequest=None):
        user = self.env.user
        values = {
            "enrollment_id": enrollment.id,
            "action": action,
            "outcome": outcome,
            "message": (message or "")[:TEXT_MAX_LENGTH] or False,
            "user_id": False if user._is_public() else user.id,
        }
        if httprequest is not None:
            values["ip_address"] = httprequest.remote_addr
            values["user_agent"] = (httprequest.user_agent.string or "")[:TEXT_MAX_LENGTH]
        return values

    @api.model
    def _record(self, enrollment, action, outcome, message=None, httprequest=None):
        return self.create(self._prepare_audit_values(enrollment, action, outcome, message, httprequest))
