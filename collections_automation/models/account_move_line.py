from odoo import models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def _reconcile_post_hook(self, data):
        """Every payment reaches an invoice through a reconciliation (a
        registered payment, a portal payment, a bank statement line): this
        is where an enrollment learns at once that it is partly or fully
        paid, or that its invoice was reversed."""
        result = super()._reconcile_post_hook(data)
        self.move_id.filtered(lambda move: move.is_invoice())._collection_sync()
        return result
