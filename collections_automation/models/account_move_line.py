from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    collection_charge_type = fields.Selection(
        [("interest", "Late interest"), ("compensation", "Fixed compensation"), ("fee", "Late fee")],
        string="Late charge",
        index="btree_not_null",
        copy=False,
    )

    # The invoices excluded from follow-up, a few, read at every engine run.
    _collection_no_followup_idx = models.Index("(move_id) WHERE no_followup IS TRUE")
    # The receivables on a day start from the lines open today
    # (collection.kpi._receivable_residuals): read from the index alone.
    _collection_open_receivable_idx = models.Index(
        "(company_id, date_maturity) INCLUDE (amount_residual, move_id, parent_state, date)"
        " WHERE display_type = 'payment_term' AND reconciled IS NOT TRUE"
    )

    def _reconcile_post_hook(self, data):
        """Every payment reaches an invoice through a reconciliation (a
        registered payment, a portal payment, a bank statement line): this
        is where an enrollment learns at once that it is partly or fully
        paid, or that its invoice was reversed."""
        result = super()._reconcile_post_hook(data)
        self.move_id.filtered(lambda move: move.is_invoice())._collection_sync()
        return result
