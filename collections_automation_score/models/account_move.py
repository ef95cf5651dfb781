from collections import defaultdict

from odoo import fields, models

# The precision a probability of paying late is shown and reckoned with.
PROBABILITY_DIGITS = (16, 2)


class AccountMove(models.Model):
    _inherit = "account.move"

    collection_score_ids = fields.One2many(
        "collection.invoice.score",
        "move_id",
        string="Payment score",
        groups="collections_automation.collections_automation_group_user",
    )
    # Related to the invoice's score record, not stored on the invoice: the
    # nightly scoring writes one small row per open invoice, and neither the
    # accounting's write nor an update of the wide invoice table (see
    # collection.invoice.score).
    collection_late_probability = fields.Float(
        related="collection_score_ids.late_probability",
        string="Probability of paying late",
        digits=PROBABILITY_DIGITS,
        help="The payment score's probability that this invoice is paid 15 days or more after its due "
        "date (1.0 once it is that late).",
    )
    collection_predicted_pay_date = fields.Date(
        related="collection_score_ids.predicted_pay_date",
        string="Predicted pay date",
        help="The day the payment score expects this invoice to be paid, the middle of its interval.",
    )
    collection_pay_date_from = fields.Date(
        related="collection_score_ids.pay_date_from",
        string="Predicted pay date from",
        help="Eight invoices in ten like this one are paid between this day and the next.",
    )
    collection_pay_date_to = fields.Date(
        related="collection_score_ids.pay_date_to", string="Predicted pay date to"
    )

    def _get_collection_scores(self):
        """{invoice id: its payment score (an empty record when it has none)}
        of these invoices, in one query."""
        # Read as the system, as the related fields above are: the score is
        # a derived value of an invoice its reader may read.
        Score = self.env["collection.invoice.score"].sudo()
        scores = Score.search_fetch([("move_id", "in", self._origin.ids)], ["move_id", "late_probability"])
        return defaultdict(lambda: Score, {score.move_id.id: score for score in scores})

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._mark_collection_score_stale()
        return posted

    def _mark_collection_score_stale(self):
        """A new invoice, a payment or a credit note changes what its
        customer's score knows: the customer is scored again, in the
        background (the scheduled action *Collections: score customers*)."""
        invoices = self.filtered(lambda move: move.move_type in ("out_invoice", "out_refund"))
        if not invoices:
            return
        # The score is the company's; marking is a consequence of posting
        # or reconciling, which the user was allowed to do.
        customers = invoices.sudo().commercial_partner_id.filtered(
            lambda partner: not partner.collection_score_stale
        )
        if customers:
            customers.collection_score_stale = True
            self.env.ref("collections_automation_score.ir_cron_collection_score_customers")._trigger()
