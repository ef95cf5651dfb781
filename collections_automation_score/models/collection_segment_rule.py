from odoo import fields, models


class CollectionSegmentRule(models.Model):
    _inherit = "collection.segment.rule"

    score_band_ids = fields.Many2many(
        "collection.score.band",
        string="Payment scores",
        help="The rule fits customers whose payment score is one of these: risky customers (C, D) can get "
        "a stricter process that starts before the due date.",
    )

    def _get_conditions(self):
        conditions = super()._get_conditions()
        if self.score_band_ids:
            bands = set(self.score_band_ids.mapped("code"))
            conditions.append(
                (
                    # The customer's score in the invoice's company.
                    lambda invoice: invoice.commercial_partner_id.with_company(
                        invoice.company_id
                    ).collection_score_band
                    in bands,
                    self.env._("payment score %(bands)s", bands=", ".join(sorted(bands))),
                )
            )
        return conditions
