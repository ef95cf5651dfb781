from collections import defaultdict

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
        groups = self._group_by_customer_score()
        # The override is a manager's field: the band everybody reads
        # follows it.
        self.partner_id.commercial_partner_id.sudo().fetch(["collection_score_band_override"])
        bands = {}
        for customer, score, enrollments in groups:
            band = customer.sudo().collection_score_band_override or score.computed_band
            bands.update(dict.fromkeys(enrollments._ids, band))
        _assign_by_value(self, "score_band", [bands[enrollment_id] for enrollment_id in self._ids])

    def _group_by_customer_score(self):
        """[(commercial partner, its score in the collections' company (an
        empty record when it has none yet), collections)] of these
        collections, one query a company."""
        Score = self.env["collection.customer.score"]
        # Only what is read: fetched whole, the wide rows of collections and
        # contacts took a quarter of the band's compute.
        self.fetch(["company_id", "partner_id"])
        self.partner_id.fetch(["commercial_partner_id"])
        groups = []
        for company, enrollments in self.grouped("company_id").items():
            by_partner = enrollments.partner_id._get_collection_customer_scores(company)
            for partner, partner_enrollments in enrollments.grouped("partner_id").items():
                customer = partner.commercial_partner_id
                groups.append((customer, by_partner.get(customer.id, Score), partner_enrollments))
        return groups

    @api.depends(
        "amount_residual",
        "state",
        "move_id.collection_late_probability",
        "move_id.amount_residual_signed",
        "partner_id.commercial_partner_id.collection_customer_score_ids.late_probability",
        "company_id",
    )
    def _compute_score_amount_at_risk(self):
        # Only what is read: fetched whole, the wide rows of collections and
        # invoices took half of this compute.
        self.fetch(["move_id"])
        self.move_id.fetch(["amount_residual_signed"])
        # A collection without an invoice (an amount kept elsewhere) has its
        # customer's probability.
        requests = self.filtered(lambda enrollment: not enrollment.move_id)
        requests.fetch(["amount_residual", "currency_id"])
        scores = {
            enrollment: score
            for _customer, score, enrollments in requests._group_by_customer_score()
            for enrollment in enrollments
        }
        invoice_scores = self.move_id._get_collection_scores()
        probabilities = []
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
            probabilities.append(probability)
            enrollment.score_amount_at_risk = amount * probability
        _assign_by_value(self, "score_late_probability", probabilities)


def _assign_by_value(records, field_name, values):
    """Give each of ``records`` its value of ``values`` (in the same order),
    the records of one value at once: the ORM's cost is per assignment
    (record by record, the band and the probability took 0.8 s more of
    100,000 collections' first scoring)."""
    ids_by_value = defaultdict(list)
    for record_id, value in zip(records._ids, values, strict=True):
        ids_by_value[value].append(record_id)
    for value, ids in ids_by_value.items():
        records.browse(ids)[field_name] = value
