from odoo import fields, models


class CollectionInvoiceScore(models.Model):
    """The payment score of an open customer invoice, as the last scoring
    wrote it; the invoice shows it through related fields. Written on the
    invoice itself, it went through the accounting's write (measured: 40 ms
    an invoice, its lines synchronised again, the invoice marked as modified
    by hand); stored on the invoice as a computed field, it still updated the
    wide invoice table, row by row."""

    _name = "collection.invoice.score"
    _description = "Invoice payment score"
    # Written by the scoring alone, every night: who wrote it and when add
    # nothing (the customer's score keeps the day), and cost two more
    # references to check for each of 100,000 new scores.
    _log_access = False

    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, ondelete="cascade", readonly=True
    )
    # Set by the scoring, which scores one company's invoices: a stored
    # related field was computed again for each new score (19 s of 100,000).
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    late_probability = fields.Float(string="Probability of paying late", digits=(16, 4), readonly=True)
    pay_date_from = fields.Date(string="Predicted pay date from", readonly=True)
    predicted_pay_date = fields.Date(string="Predicted pay date", readonly=True)
    pay_date_to = fields.Date(string="Predicted pay date to", readonly=True)

    _move_unique = models.Constraint("UNIQUE(move_id)", "An invoice has one payment score.")
