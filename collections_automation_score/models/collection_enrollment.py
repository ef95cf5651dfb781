from odoo import api, fields, models


class CollectionEnrollment(models.Model):
    _inherit = "collection.enrollment"

    score_band = fields.Selection(related="partner_id.collection_score_band", string="Payment score")
    score_late_probability = fields.Float(
        string="Probability of paying late",
        digits=(16, 2),
        compute="_compute_score_amount_at_risk",
        store=True,
        help="The invoice's probability of being paid 15 days late or more; for a payment request "
        "without an invoice, its customer's.",
    )
    move_predicted_pay_date = fields.Date(related="move_id.collection_predicted_pay_date")
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company currency")
    score_amount_at_risk = fields.Monetary(
        string="Amount at risk",
        currency_field="company_currency_id",
        compute="_compute_score_amount_at_risk",
        store=True,
        index=True,
        help="Amount due times the probability of paying late, in the company's currency: the worklist "
        "comes in this order.",
    )

    @api.depends(
        "amount_residual",
        "state",
        "move_id.collection_late_probability",
        "move_id.amount_residual_signed",
        "partner_id.collection_late_probability",
    )
    def _compute_score_amount_at_risk(self):
        for enrollment in self:
            move = enrollment.move_id
            probability = (move or enrollment.partner_id).collection_late_probability
            if move:
                amount = abs(move.amount_residual_signed)
            else:
                amount = enrollment.currency_id._convert(
                    enrollment.amount_residual,
                    enrollment.company_id.currency_id,
                    enrollment.company_id,
                    fields.Date.context_today(enrollment),
                )
            enrollment.score_late_probability = probability
            enrollment.score_amount_at_risk = amount * probability
