from odoo import api, models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    # The KPIs read the reconciliations of a period, and those since a day
    # (collection.kpi): by their date, the later of the two lines'.
    _collection_max_date_idx = models.Index("(max_date)")

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        self.env["collection.kpi.day"]._mark_partials(partials)
        return partials

    def unlink(self):
        self.env["collection.kpi.day"]._mark_partials(self)
        return super().unlink()
