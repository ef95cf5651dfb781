from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    collection_default_process_id = fields.Many2one(
        related="company_id.collection_default_process_id", readonly=False
    )
    collection_grace_days = fields.Integer(related="company_id.collection_grace_days", readonly=False)
    collection_email_from = fields.Char(related="company_id.collection_email_from", readonly=False)
    collection_reply_to = fields.Char(related="company_id.collection_reply_to", readonly=False)
    collection_auto_enroll = fields.Boolean(related="company_id.collection_auto_enroll", readonly=False)
    collection_retry_schedule = fields.Char(related="company_id.collection_retry_schedule", readonly=False)
    collection_contact_max_per_day = fields.Integer(
        related="company_id.collection_contact_max_per_day", readonly=False
    )
    collection_contact_max_per_week = fields.Integer(
        related="company_id.collection_contact_max_per_week", readonly=False
    )
    collection_quiet_days = fields.Boolean(related="company_id.collection_quiet_days", readonly=False)
