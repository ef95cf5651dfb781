from odoo import api, fields, models


class CollectionStageActionEscalation(models.AbstractModel):
    """The process's escalation, once per collection: an activity for the
    responsible, tags and trust on the customer. It runs at a stage that
    escalates (later stages still run), or at the end of the ladder (no
    stage), when no stage ran it before."""

    _name = "collection.stage.action.escalation"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Escalation"
    _action = "escalation"

    @api.model
    def _applies(self, stage):
        return stage.escalate

    @api.model
    def _get_key(self, enrollment, stage):
        return super()._get_key(enrollment, stage) if stage else enrollment._ladder_end_key()

    @api.model
    def _run(self, groups):
        for stage, group in groups:
            # Paid by this stage's retry, or waiting for a new attempt of it:
            # the stage is not over.
            for enrollment in group.filtered(
                lambda e: not e.escalated_on and e.state == "running" and not e.retry_next_date
            ):
                self._claim(
                    [(stage, enrollment)],
                    [
                        {
                            "amount": enrollment.amount_residual,
                            "message": self.env._(
                                "Escalated with %(amount)s due.", amount=enrollment._format_amount()
                            ),
                        }
                    ],
                )
                self._run_escalation(enrollment)

    @api.model
    def _run_escalation(self, enrollment):
        process = enrollment.process_id
        partner = enrollment.partner_id.commercial_partner_id
        if process.escalation_tag_ids:
            # Tags and trust are the customer's, which a collections user may
            # not edit; the escalation was configured by an administrator.
            partner.sudo().category_id = [fields.Command.link(tag.id) for tag in process.escalation_tag_ids]
        if process.escalation_set_bad_debtor:
            partner.sudo().with_company(enrollment.company_id).trust = "bad"
        if process.escalation_activity_type_id:
            enrollment.activity_schedule(
                activity_type_id=process.escalation_activity_type_id.id,
                summary=self.env._("Escalated: %(amount)s still due", amount=enrollment._format_amount()),
                user_id=process._get_responsible_user(enrollment).id,
                date_deadline=enrollment._company_today(),
            )
        enrollment.escalated_on = enrollment._company_today()
