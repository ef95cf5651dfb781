from odoo import api, fields, models

from .account_move import PROBABILITY_DIGITS
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
        digits=PROBABILITY_DIGITS,
        compute="_compute_score_amount_at_risk",
        store=True,
        help="The invoice's probability of being paid 15 days late or more; for a payment request "
        "without an invoice, its customer's.",
    )
    move_predicted_pay_date = fields.Date(related="move_id.collection_predicted_pay_date")
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company currency")
    # A float shown with the company's currency, not a Monetary field: the
    # ORM rounds a Monetary value through its record's currency, read again
    # for each value (16 s of the 100,000 collections' first scoring).
    score_amount_at_risk = fields.Float(
        string="Amount at risk",
        digits=(16, 2),
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
        scores = self._get_customer_scores()
        # The override is a manager's field: the band everybody reads
        # follows it.
        customers = self.partner_id.commercial_partner_id.sudo()
        overrides = dict(zip(customers.ids, customers.mapped("collection_score_band_override"), strict=True))
        for enrollment in self:
            override = overrides.get(enrollment.partner_id.commercial_partner_id.id)
            enrollment.score_band = override or scores[enrollment].computed_band

    def _get_customer_scores(self):
        """{collection: its customer's score in the collection's company}
        (an empty record when it has none yet), one query a company."""
        Score = self.env["collection.customer.score"]
        scores = {}
        for company, enrollments in self.grouped("company_id").items():
            partners = enrollments.partner_id
            by_partner = partners._get_collection_customer_scores(company)
            for enrollment in enrollments:
                scores[enrollment] = by_partner.get(enrollment.partner_id.commercial_partner_id.id, Score)
        return scores

    @api.depends(
        "amount_residual",
        "state",
        "move_id.collection_late_probability",
        "move_id.amount_residual_signed",
        "partner_id.commercial_partner_id.collection_customer_score_ids.late_probability",
        "company_id",
    )
    def _compute_score_amount_at_risk(self):
        # A collection without an invoice (an amount kept elsewhere) has its
        # customer's probability.
        scores = self.filtered(lambda enrollment: not enrollment.move_id)._get_customer_scores()
        invoice_scores = self.move_id._get_collection_scores()
        for enrollment in self:
            move = enrollment.move_id
            if move:
                # As the invoice shows it (and the amount at risk follows).
                probability = round(invoice_scores[move._origin.id].late_probability, PROBABILITY_DIGITS[1])
                amount = abs(move.amount_residual_signed)
            else:
                probability = scores[enrollment].late_probability
                amount = enrollment.currency_id._convert(
                    enrollment.amount_residual,
                    enrollment.company_id.currency_id,
                    enrollment.company_id,
                    fields.Date.context_today(enrollment),
                )
            enrollment.score_late_probability = probability
            enrollment.score_amount_at_risk = amount * probability
