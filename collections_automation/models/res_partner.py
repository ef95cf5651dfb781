from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    collection_hold = fields.Boolean(
        string="Collection hold",
        company_dependent=True,
        tracking=True,
        help="No collection process starts for this customer while on hold.",
    )
    collection_enrollment_ids = fields.One2many("collection.enrollment", "partner_id", string="Collections")
    collection_enrollment_count = fields.Integer(compute="_compute_collection_enrollment_count")

    def _compute_collection_enrollment_count(self):
        counts = dict(
            self.env["collection.enrollment"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                groupby=["partner_id"],
                aggregates=["__count"],
            )
        )
        for partner in self:
            partner.collection_enrollment_count = counts.get(partner.commercial_partner_id, 0)

    def action_view_collection_enrollments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_enrollment_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"search_default_open": 1}
        return action
