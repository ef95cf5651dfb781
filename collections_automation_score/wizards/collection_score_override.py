from odoo import api, fields, models

from ..models.res_partner import SCORE_BANDS


class CollectionScoreOverride(models.TransientModel):
    """A Collections administrator sets a customer's payment score by hand,
    with the reason, or gives it back to the score."""

    _name = "collection.score.override"
    _description = "Set a payment score by hand"

    partner_id = fields.Many2one("res.partner", required=True, readonly=True)
    computed_band = fields.Selection(related="partner_id.collection_score_computed_band")
    band = fields.Selection(
        SCORE_BANDS, string="Payment score", help="Empty: the payment score's own band again."
    )
    reason = fields.Char(help="Logged in the customer's chatter with the band.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        partner = self.env["res.partner"].browse(
            values.get("partner_id") or self.env.context.get("active_id")
        )
        if partner:
            partner = partner.commercial_partner_id
            values["partner_id"] = partner.id
            values["band"] = partner.sudo().collection_score_band_override
            values["reason"] = partner.sudo().collection_score_override_reason
        return values

    def action_apply(self):
        self.ensure_one()
        # Only Collections administrators reach this wizard (its access
        # rows); they set these two fields of the customer, nothing else,
        # which its contact rights may not allow them to write.
        self.partner_id.sudo().write(
            {
                "collection_score_band_override": self.band or False,
                "collection_score_override_reason": (self.reason or False) if self.band else False,
            }
        )
        return {"type": "ir.actions.act_window_close"}
