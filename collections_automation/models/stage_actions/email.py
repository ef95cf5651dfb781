from collections import defaultdict

from odoo import api, models
from odoo.fields import Command

EMAIL_RENDER_FIELDS = ("subject", "body_html", "email_from", "reply_to", "partner_to", "email_cc", "email_to")


class CollectionStageActionEmail(models.AbstractModel):
    """The stage's email: rendered from its template for all the batch's
    groups at once, posted in the lead enrollment's chatter under the
    Collection reminder subtype and queued for the customer."""

    _name = "collection.stage.action.email"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Email"
    _action = "email"

    @api.model
    def _applies(self, stage):
        return stage.send_email

    @api.model
    def _run(self, groups):
        messages = self._post_emails(groups)
        self._claim(groups, [{"mail_message_id": message.id} for message in messages])

    @api.model
    def _render_emails(self, groups):
        """Render the email of each group, one template call for all the
        groups of a template, consolidated or not (a batch costs a few
        queries per action, not a few per record). Returns a list of value
        dicts."""
        groups_by_template = defaultdict(list)
        for stage, group in groups:
            groups_by_template[stage.mail_template_id].append(group)
        rendered = {}
        for template, template_groups in groups_by_template.items():
            batch_template = template.with_context(
                collection_batch_render=True,
                collection_groups=tuple(
                    (group[0].id, tuple(group.ids)) for group in template_groups if len(group) > 1
                ),
            )
            lead_ids = [group[0].id for group in template_groups]
            for res_id, values in batch_template._generate_template(lead_ids, EMAIL_RENDER_FIELDS).items():
                rendered[template, res_id] = values
        return [rendered[stage.mail_template_id, group[0].id] for stage, group in groups]

    @api.model
    def _prepare_email_values(self, stage, group, values):
        lead = group[0]
        process = lead.process_id
        return {
            "subject": values.get("subject"),
            "body": values.get("body_html") or "",
            "partner_ids": values.get("partner_ids") or lead.partner_id.ids,
            "email_from": process._get_email_from()
            or values.get("email_from")
            or lead.company_id.email_formatted,
            "reply_to": process._get_reply_to() or values.get("reply_to") or False,
        }

    @api.model
    def _post_emails(self, groups):
        """Post each group's email in its lead enrollment's chatter and queue
        it for the customer: the records ``message_post`` would make (a
        message, its outgoing mail, its notifications), created in bulk."""
        subtype = self.env.ref("collections_automation.mail_message_subtype_collection_reminder")
        author = self.env.user.partner_id
        payloads = [
            self._prepare_email_values(stage, group, values)
            for (stage, group), values in zip(groups, self._render_emails(groups), strict=True)
        ]
        Letter = self.env["collection.stage.action.letter"]
        attachments = Letter._render_letter_attachments([(s, g) for s, g in groups if s.attach_letter])
        messages = (
            self.env["mail.message"]
            .sudo()
            .create(
                [
                    {
                        "model": "collection.enrollment",
                        "res_id": group[0].id,
                        "record_name": group[0].display_name,
                        "message_type": "comment",
                        "subtype_id": subtype.id,
                        "author_id": author.id,
                        "subject": payload["subject"],
                        "body": payload["body"],
                        "email_from": payload["email_from"],
                        "reply_to": payload["reply_to"],
                        "partner_ids": [Command.set(payload["partner_ids"])],
                        "attachment_ids": [Command.set(attachments.get(group[0].id, []))],
                    }
                    for (_stage, group), payload in zip(groups, payloads, strict=True)
                ]
            )
        )
        mails = (
            self.env["mail.mail"]
            .sudo()
            .create(
                [
                    {
                        "mail_message_id": message.id,
                        "body_html": payload["body"],
                        "recipient_ids": [Command.set(payload["partner_ids"])],
                        "is_notification": True,
                        "auto_delete": False,
                        "state": "outgoing",
                    }
                    for message, payload in zip(messages, payloads, strict=True)
                ]
            )
        )
        self.env["mail.notification"].sudo().create(
            [
                {
                    "mail_message_id": mail.mail_message_id.id,
                    "mail_mail_id": mail.id,
                    "res_partner_id": partner_id,
                    "author_id": author.id,
                    "notification_type": "email",
                    "notification_status": "ready",
                    "is_read": True,
                }
                for mail, payload in zip(mails, payloads, strict=True)
                for partner_id in payload["partner_ids"]
            ]
        )
        # The other collections of a consolidated email note it, logged for
        # the whole batch (the engine runs them).
        notes = {
            other.id: self.env._(
                "Reminder sent with %(lead)s (one email for the customer).", lead=group[0].name
            )
            for _stage, group in groups
            for other in group[1:]
        }
        if notes:
            self.env["collection.enrollment"].browse(list(notes))._message_log_batch(bodies=notes)
        return messages
