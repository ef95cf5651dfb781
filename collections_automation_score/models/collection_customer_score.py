from odoo import fields, models

from .res_partner import SCORE_BANDS


class CollectionCustomerScore(models.Model):
    """A customer's payment score in one company, as that company's last
    scoring wrote it. A customer shared by several companies pays each its
    own way, and each company's score learns from its own ledger only; the
    customer shows the score of the company the user works in. Kept beside
    the contact rather than on it: writing the contact went through its
    write (2.9 ms a customer, measured), and one stored value could not hold
    two companies' scores."""

    _name = "collection.customer.score"
    _description = "Customer payment score"
    _rec_name = "partner_id"
    # Written by the scoring alone (see collection.invoice.score); its date
    # is the score's.
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade", readonly=True)
    late_probability = fields.Float(string="Probability of paying late", digits=(16, 4), readonly=True)
    computed_band = fields.Selection(SCORE_BANDS, string="Computed payment score", readonly=True)
    factors = fields.Text(string="Payment score factors", readonly=True)
    score_date = fields.Date(string="Scored on", readonly=True)

    _partner_company_unique = models.Constraint(
        "UNIQUE(partner_id, company_id)", "A customer has one payment score per company."
    )
