from datetime import timedelta

from odoo import api, models


class CollectionStageActionActivity(models.AbstractModel):
    """An activity for a person (a call, by default): the stage's user, else
    the process's responsible."""

    _name = "collection.stage.action.activity"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Activity"
    _action = "activity"

    @api.model
    def _applies(self, stage):
        return stage.create_activity

    @api.model
    def _run_group(self, stage, group):
        first = group[0]
        user = stage.activity_user_id or first.process_id._get_responsible_user(first)
        first.activity_schedule(
            activity_type_id=(stage.activity_type_id or self.env.ref("mail.mail_activity_data_call")).id,
            summary=stage.activity_summary or stage.name,
            note=self.env._(
                "%(count)s invoice(s), %(amount)s due.",
                count=len(group),
                amount=", ".join(e._format_amount() for e in group),
            ),
            user_id=user.id,
            date_deadline=first._company_today() + timedelta(days=stage.activity_deadline_days),
        )
        return {}
