from odoo import api, fields, models

from .res_partner import SCORE_BANDS


class CollectionEnrollment(models.Model):
    _inherit = "collection.enrollment"

    score_band = fields.Selection(
        SCORE_BANDS,
        string="Payment score",
        compute="_compute_score_band",
        store=True,
        help="The customer's payment score in the collection's company, or the band a Collections "
        "administrator set.",
    )
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
        "company_id",
        "partner_id.commercial_partner_id.collection_score_band_override",
        "partner_id.commercial_partner_id.collection_customer_score_ids.computed_band",
    )
    def _compute_score_band(self):
        for enrollment in self:
            # The override is a manager's field: the band everybody reads
            # follows it.
            override = enrollment.partner_id.commercial_partner_id.sudo().collection_score_band_override
            enrollment.score_band = override or enrollment._get_customer_score().computed_band

    def _get_customer_score(self):
        """The customer's score in the collection's company (empty when it
        has none yet)."""
        self.ensure_one()
        # Read as the system: the collection's reader may read its company's
        # scores; this is that one row.
        scores = self.partner_id.commercial_partner_id.sudo().collection_customer_score_ids
        return scores.filtered(lambda score: score.company_id == self.company_id)[:1]

    @api.depends(
        "amount_residual",
        "state",
        "move_id.collection_late_probability",
        "move_id.amount_residual_signed",
        "partner_id.commercial_partner_id.collection_customer_score_ids.late_probability",
        "company_id",
    )
    def _compute_score_amount_at_risk(self):
        for enrollment in self:
            move = enrollment.move_id
            if move:
                probability = move.collection_late_probability
            else:
                probability = enrollment._get_customer_score().late_probability
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
