from odoo import fields, models


class CollectionStage(models.Model):
    _name = "collection.stage"
    _description = "Collection Stage"
    _order = "process_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    process_id = fields.Many2one(
        "collection.process",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="process_id.company_id", store=True, index=True)
    delay_days = fields.Integer(
        string="Delay (days)",
        help="Days after the reference date; negative before it (reminders before the due date).",
    )
    delay_from = fields.Selection(
        [
            ("due_date", "Due date"),
            ("enrollment", "Enrollment"),
            ("previous_stage", "Previous stage"),
        ],
        string="Counted from",
        required=True,
        default="due_date",
    )
