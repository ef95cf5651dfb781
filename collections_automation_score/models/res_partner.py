from odoo import api, fields, models
from odoo.exceptions import ValidationError

SCORE_BANDS = [
    ("A", "A: pays on time"),
    ("B", "B: sometimes late"),
    ("C", "C: often late"),
    ("D", "D: pays very late or not at all"),
]
# The upper probability of paying 15 days late or more of bands A, B, C.
BAND_LIMITS = (("A", 0.15), ("B", 0.35), ("C", 0.6))


def band_of(probability):
    return next((band for band, limit in BAND_LIMITS if probability < limit), "D")


class ResPartner(models.Model):
    _inherit = "res.partner"

    collection_score_band = fields.Selection(
        SCORE_BANDS,
        string="Payment score",
        compute="_compute_collection_score_band",
        store=True,
        index=True,
        help="A (pays on time) to D (pays very late or not at all): the payment score's band, or the "
        "one a Collections administrator set.",
    )
    collection_score_computed_band = fields.Selection(
        SCORE_BANDS, string="Computed payment score", readonly=True, copy=False
    )
    collection_late_probability = fields.Float(
        string="Probability of paying late",
        digits=(16, 2),
        readonly=True,
        copy=False,
        help="The probability that this customer pays its riskiest invoice 15 days or more late: an open "
        "one, or the next one like its usual.",
    )
    collection_score_factors = fields.Text(
        string="Payment score factors",
        readonly=True,
        copy=False,
        help="What moved the score most, from this customer's history.",
    )
    collection_score_date = fields.Date(string="Scored on", readonly=True, copy=False)
    collection_score_band_override = fields.Selection(
        SCORE_BANDS,
        string="Payment score set by hand",
        tracking=True,
        copy=False,
        groups="collections_automation.collections_automation_group_manager",
    )
    collection_score_override_reason = fields.Char(
        string="Why the payment score was set by hand",
        tracking=True,
        copy=False,
        groups="collections_automation.collections_automation_group_manager",
    )
    collection_score_stale = fields.Boolean(
        string="Payment score to update",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Set when an invoice, a payment or a credit note changed this customer's history; the next "
        "scoring clears it.",
    )

    @api.depends("collection_score_computed_band", "collection_score_band_override")
    def _compute_collection_score_band(self):
        # The override is a manager's field: the band everybody reads follows it.
        for partner, sudo_partner in zip(self, self.sudo(), strict=True):
            partner.collection_score_band = (
                sudo_partner.collection_score_band_override or partner.collection_score_computed_band
            )

    @api.constrains("collection_score_band_override", "collection_score_override_reason")
    def _check_collection_score_override_reason(self):
        for partner in self.sudo():
            if partner.collection_score_band_override and not partner.collection_score_override_reason:
                raise ValidationError(
                    self.env._(
                        "Say why the payment score of %(customer)s is set by hand.",
                        customer=partner.display_name,
                    )
                )

    def _commercial_fields(self):
        return [
            *super()._commercial_fields(),
            "collection_score_band_override",
            "collection_score_override_reason",
        ]
