from odoo import api, fields, models


class CollectionLegalRefuse(models.TransientModel):
    """Refuse legal action for collections waiting for approval, with the
    reason logged on each."""

    _name = "collection.legal.refuse"
    _description = "Refuse Legal Action"

    enrollment_ids = fields.Many2many("collection.enrollment", string="Collections", required=True)
    reason = fields.Char(required=True)

    @api.model
    def action_open(self, enrollments):
        Legal = self.env["collection.legal.action"]
        Legal._check_approver()
        Legal._check_pending(enrollments)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Refuse Legal Action"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {"default_enrollment_ids": enrollments.ids},
        }

    def action_refuse(self):
        self.ensure_one()
        self.env["collection.legal.action"]._refuse(self.enrollment_ids, self.reason)
        return {"type": "ir.actions.act_window_close"}
