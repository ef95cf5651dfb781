from odoo import models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    # The KPIs read the reconciliations of a period, and those since a day
    # (collection.kpi): by their date, the later of the two lines'.
    _collection_max_date_idx = models.Index("(max_date)")
