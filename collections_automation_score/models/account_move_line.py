from odoo import models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def _reconcile_post_hook(self, data):
        result = super()._reconcile_post_hook(data)
        # A payment or a credit note settles an invoice: its customer's
        # history changed.
        self.move_id._mark_collection_score_stale()
        return result
