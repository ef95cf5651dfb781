from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_default_process_id = fields.Many2one(
        "collection.process",
        string="Default collection process",
        domain="[('company_id', '=', id)]",
        help="The process of invoices that no segment rule fits.",
    )
    collection_grace_days = fields.Integer(
        string="Default grace period (days)",
        default=3,
        help="The grace period of new processes: days an invoice may be overdue before the engine "
        "enrolls it.",
    )
    collection_email_from = fields.Char(
        string="Collections sender",
        help="Sender of collection emails when the process sets none; the company's email when empty.",
    )
    collection_reply_to = fields.Char(
        string="Collections reply-to", help="Reply-to of collection emails when the process sets none."
    )
    collection_auto_enroll = fields.Boolean(
        string="Automatic enrollment",
        default=True,
        help="When off, the engine enrolls no invoice by itself in this company (overdue and pre-due "
        "triggers); enrollments still run their stages.",
    )
