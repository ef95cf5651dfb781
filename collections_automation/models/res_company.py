from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_default_process_id = fields.Many2one(
        "collection.process",
        string="Default collection process",
        domain="[('company_id', '=', id)]",
        help="The process of invoices that no segment rule fits.",
    )
