from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CollectionStage(models.Model):
    _inherit = "collection.stage"

    send_sms = fields.Boolean(string="SMS")
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS template",
        domain="[('model', '=', 'collection.enrollment')]",
    )

    @api.depends("send_sms")
    def _compute_action_summary(self):
        return super()._compute_action_summary()

    def _get_action_labels(self):
        labels = super()._get_action_labels()
        letter = next(index for index, (field, _label) in enumerate(labels) if field == "attach_letter")
        labels.insert(letter + 1, ("send_sms", self.env._("SMS")))
        return labels

    @api.constrains("sms_template_id", "send_sms")
    def _check_sms_template(self):
        for stage in self:
            stage._check_template_model(stage.sms_template_id)
            if stage.send_sms and not stage.sms_template_id:
                raise ValidationError(
                    self.env._("The stage “%(stage)s” sends an SMS: choose its template.", stage=stage.name)
                )

    def _contacts_customer(self):
        return super()._contacts_customer() or self.send_sms
