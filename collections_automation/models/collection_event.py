from odoo import api, fields, models
from odoo.fields import Domain

from .collection_decline_code import DECLINE_CLASSES

# What of an event the KPIs' days depend on (collection.kpi.day).
KPI_DAY_EVENT_FIELDS = frozenset(("enrollment_id", "stage_id", "date", "action"))

EVENT_ACTIONS = [
    ("enrolled", "Enrolled"),
    ("email", "Email"),
    ("letter", "Letter"),
    ("sms", "SMS"),
    ("activity", "Activity"),
    ("payment_retry", "Payment retry"),
    ("late_charge", "Late charges"),
    ("legal_request", "Legal action requested"),
    ("legal", "Sent to legal"),
    ("legal_refused", "Legal action refused"),
    ("escalation", "Escalation"),
    ("stage_skipped", "Stage skipped"),
    ("deferred", "Deferred"),
    ("stage_moved", "Moved to a stage"),
    ("partial_payment", "Partial payment"),
    ("paid", "Paid"),
    ("paused", "Paused"),
    ("resumed", "Resumed"),
    ("promise", "Promise to pay"),
    ("promise_kept", "Promise kept"),
    ("promise_broken", "Promise broken"),
    ("dispute", "Dispute"),
    ("dispute_resolved", "Dispute resolved"),
    ("write_off", "Written off"),
    ("cancelled", "Cancelled"),
    ("error", "Error"),
]


class CollectionEvent(models.Model):
    """The log of everything the engine and the users did to an enrollment.

    ``key`` makes each stage action happen once: it is written in the same
    transaction as the action's effect, and a second attempt fails on the
    unique constraint."""

    _name = "collection.event"
    _description = "Collection Event"
    _order = "date desc, id desc"
    _check_company_auto = True

    enrollment_id = fields.Many2one("collection.enrollment", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="enrollment_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="enrollment_id.partner_id", store=True)
    process_id = fields.Many2one(related="enrollment_id.process_id", store=True)
    stage_id = fields.Many2one("collection.stage", index=True, ondelete="set null")
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    action = fields.Selection(EVENT_ACTIONS, required=True, index=True)
    outcome = fields.Selection(
        [("done", "Done"), ("failed", "Failed"), ("skipped", "Skipped")],
        required=True,
        default="done",
    )
    key = fields.Char(index=True, copy=False, help="Set for actions that must run once.")
    message = fields.Text()
    currency_id = fields.Many2one(related="enrollment_id.currency_id")
    amount = fields.Monetary(currency_field="currency_id")
    mail_message_id = fields.Many2one("mail.message", ondelete="set null")
    payment_transaction_id = fields.Many2one("payment.transaction", ondelete="set null")
    charge_move_id = fields.Many2one("account.move", string="Charge invoice", ondelete="set null")
    attempt = fields.Integer()
    decline_code = fields.Char()
    advice_code = fields.Char()
    decline_class = fields.Selection(DECLINE_CLASSES)

    _key_unique = models.UniqueIndex("(key) WHERE key IS NOT NULL", "This collection action has already run.")
    # The KPI screen's promise kept rate: a few events among millions.
    _promise_ends_idx = models.Index("(company_id, date) WHERE action IN ('promise_kept', 'promise_broken')")

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        self.env["collection.kpi.day"]._mark_events(events)
        return events

    def write(self, vals):
        if not KPI_DAY_EVENT_FIELDS.intersection(vals):
            return super().write(vals)
        Day = self.env["collection.kpi.day"]
        # Before and after: the first run day the event was may go.
        Day._mark_histories(self.enrollment_id)
        result = super().write(vals)
        Day._mark_histories(self.enrollment_id)
        return result

    def unlink(self):
        self.env["collection.kpi.day"]._mark_histories(self.enrollment_id)
        return super().unlink()

    @api.model
    def _get_formal_notice_domain(self):
        """An email reminder that went out: sent after the invoice's due
        date, it is the formal notice that the consumer late charge presets
        count interest from (account.move.collection_notice_date). A letter
        is not: the engine prints it, and the day it is posted, which the
        law counts from, is the accountant's to set."""
        return Domain("action", "=", "email") & Domain("outcome", "=", "done")

    def _get_company_date(self):
        """The event's day on its company's calendar."""
        self.ensure_one()
        return (self.enrollment_id.company_id or self.env.company)._get_collection_date(self.date)
