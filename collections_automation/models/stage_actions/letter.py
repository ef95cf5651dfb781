from odoo import api, models


class CollectionStageActionLetter(models.AbstractModel):
    """The collection letter (PDF): attached to the stage's email, or posted
    in the chatter when the stage sends no email."""

    _name = "collection.stage.action.letter"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Letter"
    _action = "letter"

    @api.model
    def _applies(self, stage):
        # With an email, the letter goes out as its attachment.
        return stage.attach_letter and not stage.send_email

    @api.model
    def _run_group(self, stage, group):
        message = group[0].message_post(
            body=self.env._("Collection letter for stage %(stage)s.", stage=stage.name),
            attachments=[self._render_letter(stage, group)],
            subtype_xmlid="mail.mt_note",
        )
        return {"mail_message_id": message.id}

    @api.model
    def _render_letter_attachments(self, groups):
        """{first enrollment id: [attachment ids]} of the groups' letters."""
        result = {}
        for stage, group in groups:
            name, pdf = self._render_letter(stage, group)
            attachment = self.env["ir.attachment"].create(
                {
                    "name": name,
                    "raw": pdf,
                    "mimetype": "application/pdf",
                    "res_model": "collection.enrollment",
                    "res_id": group[0].id,
                }
            )
            result[group[0].id] = attachment.ids
        return result

    @api.model
    def _render_letter(self, stage, group):
        report = self.env.ref("collections_automation.collection_letter_report")
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(collection_group_ids=group.ids)
            ._render_qweb_pdf(report, group[:1].ids)
        )
        return f"{group[0].name.replace('/', '-')}-{stage.name}.pdf", pdf
