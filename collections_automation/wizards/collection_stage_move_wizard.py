from odoo import api, fields, models


class CollectionStageMoveWizard(models.TransientModel):
    _name = "collection.stage.move.wizard"
    _description = "Move Collections to a Stage"

    enrollment_ids = fields.Many2many("collection.enrollment", string="Collections", required=True)
    process_id = fields.Many2one("collection.process", compute="_compute_process_id")
    stage_id = fields.Many2one(
        "collection.stage", string="Move to", required=True, domain="[('process_id', '=', process_id)]"
    )
    reason = fields.Text(required=True, help="Logged in each collection's chatter.")

    @api.depends("enrollment_ids")
    def _compute_process_id(self):
        for wizard in self:
            wizard.process_id = wizard.enrollment_ids.process_id[:1]

    def action_move(self):
        self.ensure_one()
        self.enrollment_ids._move_to_stage(self.stage_id, self.reason)
        return {"type": "ir.actions.act_window_close"}
