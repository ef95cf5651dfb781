from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

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

    collection_customer_score_ids = fields.One2many(
        "collection.customer.score",
        "partner_id",
        string="Payment scores",
        groups="collections_automation.collections_automation_group_user",
    )
    # The score of the company the user works in (a customer pays each
    # company its own way); the band set by hand is the customer's.
    collection_score_band = fields.Selection(
        SCORE_BANDS,
        string="Payment score",
        compute="_compute_collection_score",
        search="_search_collection_score_band",
        help="A (pays on time) to D (pays very late or not at all): the payment score's band, or the "
        "one a Collections administrator set.",
    )
    collection_score_computed_band = fields.Selection(
        SCORE_BANDS, string="Computed payment score", compute="_compute_collection_score"
    )
    collection_late_probability = fields.Float(
        string="Probability of paying late",
        digits=(16, 2),
        compute="_compute_collection_score",
        help="The probability that this customer pays its riskiest invoice 15 days or more late: an open "
        "one, or the next one like its usual.",
    )
    collection_score_factors = fields.Text(
        string="Payment score factors",
        compute="_compute_collection_score",
        help="What moved the score most, from this customer's history.",
    )
    collection_score_date = fields.Date(string="Scored on", compute="_compute_collection_score")
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

    @api.depends_context("company")
    @api.depends(
        "commercial_partner_id.collection_score_band_override",
        "commercial_partner_id.collection_customer_score_ids.computed_band",
        "commercial_partner_id.collection_customer_score_ids.late_probability",
        "commercial_partner_id.collection_customer_score_ids.factors",
        "commercial_partner_id.collection_customer_score_ids.score_date",
    )
    def _compute_collection_score(self):
        # The score is shown to whoever may read the customer, as Odoo shows
        # its trust field; only the current company's, which the user works in.
        # The override is a manager's field: the band everybody reads follows it.
        scores = self._get_collection_customer_scores(self.env.company)
        for partner, sudo_partner in zip(self, self.sudo(), strict=True):
            score = scores.get(partner.commercial_partner_id._origin.id)
            partner.collection_score_computed_band = score.computed_band if score else False
            partner.collection_late_probability = score.late_probability if score else 0.0
            partner.collection_score_factors = score.factors if score else False
            partner.collection_score_date = score.score_date if score else False
            partner.collection_score_band = (
                sudo_partner.commercial_partner_id.collection_score_band_override
                or partner.collection_score_computed_band
            )

    def _get_collection_customer_scores(self, company):
        """{commercial partner id: its score in ``company``} of these customers."""
        scores = (
            self.env["collection.customer.score"]
            .sudo()
            .search_fetch(
                [
                    ("partner_id", "in", self.commercial_partner_id._origin.ids),
                    ("company_id", "=", company.id),
                ],
                ["partner_id", "computed_band", "late_probability", "factors", "score_date"],
            )
        )
        return {score.partner_id.id: score for score in scores}

    def _search_collection_score_band(self, operator, value):
        if operator != "in":
            return NotImplemented
        bands = [band for band in value if band]
        # Searched as the system: the override is a manager's field, and
        # the domain only selects customers the outer search still filters.
        Partner = self.sudo().with_context(active_test=False)
        computed = (
            self.env["collection.customer.score"]
            .sudo()
            ._search([("company_id", "=", self.env.company.id), ("computed_band", "in", bands)])
        )
        matching = Domain("collection_score_band_override", "in", bands) | (
            Domain("collection_score_band_override", "=", False)
            & Domain("commercial_partner_id", "in", computed.subselect("partner_id"))
        )
        if False in value:
            scored = (
                self.env["collection.customer.score"]
                .sudo()
                ._search([("company_id", "=", self.env.company.id), ("computed_band", "!=", False)])
            )
            matching |= Domain("collection_score_band_override", "=", False) & Domain(
                "commercial_partner_id", "not in", scored.subselect("partner_id")
            )
        return [("id", "in", Partner._search(matching))]

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
