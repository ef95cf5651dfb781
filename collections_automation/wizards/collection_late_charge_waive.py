from odoo import api, fields, models
from odoo.exceptions import UserError


class CollectionLateChargeWaive(models.TransientModel):
    """Waive posted late charges: a credit note for each, posted and
    reconciled with it, with the reason on the credit note and in the
    collection's chatter."""

    _name = "collection.late.charge.waive"
    _description = "Waive Late Charges"

    move_ids = fields.Many2many("account.move", string="Charge invoices", required=True)
    reason = fields.Char(required=True, help="On the credit note, and logged in the collection's chatter.")

    @api.model
    def action_open(self, moves):
        charges = moves.filtered(lambda move: move.collection_late_invoice_id)
        if not charges or charges != moves or any(move.state != "posted" for move in moves):
            raise UserError(self.env._("Only posted late charge invoices can be waived."))
        # A full reversal would hand the part already paid back to the
        # customer's account: not what waiving the rest means.
        if paid := moves.filtered(lambda move: move.payment_state != "not_paid"):
            raise UserError(
                self.env._(
                    "%(charges)s is partly paid: waive what is left with a credit note for that amount.",
                    charges=", ".join(paid.mapped("name")),
                )
            )
        wizard = self.create({"move_ids": moves.ids, "reason": self.env._("Late charges waived")})
        return wizard._get_records_action(name=self.env._("Waive Late Charges"), target="new")

    def action_waive(self):
        self.ensure_one()
        charges = self.move_ids
        credit_notes = charges._reverse_moves(
            [
                {"ref": self.env._("%(charge)s waived: %(reason)s", charge=charge.name, reason=self.reason)}
                for charge in charges
            ],
            cancel=True,
        )
        for charge, credit_note in zip(charges, credit_notes, strict=True):
            enrollment = charge.collection_late_invoice_id.collection_enrollment_id
            if enrollment:
                enrollment.message_post(
                    body=self.env._(
                        "Late charges %(charge)s waived (%(amount)s, credit note %(credit_note)s): "
                        "%(reason)s",
                        charge=charge.name,
                        amount=charge.currency_id.format(charge.amount_total),
                        credit_note=credit_note.name,
                        reason=self.reason,
                    )
                )
        return {"type": "ir.actions.act_window_close"}
