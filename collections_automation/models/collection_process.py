from odoo import api, fields, models


class CollectionProcess(models.Model):
    _name = "collection.process"
    _description = "Collection Process"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    description = fields.Html(translate=True)
    stage_ids = fields.One2many("collection.stage", "process_id", string="Stages", copy=True)
    stage_count = fields.Integer(compute="_compute_stage_count")

    @api.depends("stage_ids")
    def _compute_stage_count(self):
        for process in self:
            process.stage_count = len(process.stage_ids)
