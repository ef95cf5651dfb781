from odoo import api, fields, models

from ..models.collection_enrollment import DISPUTE_OUTCOMES


class CollectionDisputeResolution(models.TransientModel):
    _name = "collection.dispute.resolution"
    _description = "Resolve a Collection Dispute"

    enrollment_id = fields.Many2one(
        "collection.enrollment", string="Collection", required=True, readonly=True
    )
    partner_id = fields.Many2one(related="enrollment_id.partner_id")
    dispute_reason = fields.Selection(related="enrollment_id.dispute_reason")
    outcome = fields.Selection(DISPUTE_OUTCOMES, required=True, default="resume")
    credit_note_id = fields.Many2one(
        "account.move",
        string="Credit note",
        domain="[('move_type', '=', 'out_refund'), ('state', '=', 'posted'), "
        "('commercial_partner_id', '=', partner_id), ('payment_state', 'in', ('not_paid', 'partial'))]",
        help="A posted credit note of the customer, created with the invoice's Credit Note button: it is "
        "reconciled with the invoice and the reminders go on for what is still due.",
    )
    note = fields.Text(string="Message to the customer")

    @api.onchange("outcome")
    def _onchange_outcome(self):
        if self.outcome != "credit_note":
            self.credit_note_id = False

    def action_resolve(self):
        self.ensure_one()
        self.enrollment_id.action_resolve_dispute(
            self.outcome, note=self.note, credit_note=self.credit_note_id
        )
        return {"type": "ir.actions.act_window_close"}
