from odoo import api, models


class CollectionStageActionSms(models.AbstractModel):
    """The stage's SMS, from its template, queued for the customer."""

    _name = "collection.stage.action.sms"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: SMS"
    _action = "sms"

    @api.model
    def _applies(self, stage):
        return stage.send_sms

    @api.model
    def _run_group(self, stage, group):
        first = group[0].with_context(collection_group_ids=group.ids)
        messages = first._message_sms_with_template(
            template=stage.sms_template_id, partner_ids=first.partner_id.ids, put_in_queue=True
        )
        return {"mail_message_id": messages[:1].id}
