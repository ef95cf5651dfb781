from collections import defaultdict

from odoo import api, models

EMAIL_RENDER_FIELDS = ("subject", "body_html", "email_from", "reply_to", "partner_to", "email_cc", "email_to")


class CollectionStageActionEmail(models.AbstractModel):
    """The stage's email: rendered from its template for all the batch's
    groups at once, posted in the first enrollment's chatter under the
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
            first_ids = [group[0].id for group in template_groups]
            values_by_id = self.env["collection.mail.batch"]._render_template(
                batch_template, first_ids, EMAIL_RENDER_FIELDS
            )
            for res_id, values in values_by_id.items():
                rendered[template, res_id] = values
        return [rendered[stage.mail_template_id, group[0].id] for stage, group in groups]

    @api.model
    def _prepare_email_values(self, stage, group, values):
        first = group[0]
        process = first.process_id
        return {
            "subject": values.get("subject"),
            "body": values.get("body_html") or "",
            "partner_ids": values.get("partner_ids") or first.partner_id.ids,
            "email_from": process._get_email_from()
            or values.get("email_from")
            or first.company_id.email_formatted,
            "reply_to": process._get_reply_to() or values.get("reply_to") or False,
        }

    @api.model
    def _post_emails(self, groups):
        """Post each group's email in its first enrollment's chatter and queue
        it for the customer, its body in its template's layout, as
        ``message_post`` and ``send_mail`` would, for the whole batch."""
        payloads = [
            self._prepare_email_values(stage, group, values)
            for (stage, group), values in zip(groups, self._render_emails(groups), strict=True)
        ]
        Batch = self.env["collection.mail.batch"]
        firsts = [group[0] for _stage, group in groups]
        mail_bodies = Batch._wrap_in_layouts(
            [stage.mail_template_id for stage, _group in groups],
            firsts,
            [payload["body"] for payload in payloads],
            self._prepare_layout_context,
        )
        Letter = self.env["collection.stage.action.letter"]
        attachments = Letter._render_letter_attachments([(s, g) for s, g in groups if s.attach_letter])
        subtype = self.env.ref("collections_automation.mail_message_subtype_collection_reminder")
        enrollments = self.env["collection.enrollment"].concat(*firsts)
        messages = Batch._post_emails(enrollments, payloads, mail_bodies, attachments, subtype)
        self._log_consolidated_notes(groups)
        return messages

    def _log_consolidated_notes(self, groups):
        """The other collections of a consolidated email note it, logged for
        the whole batch (the engine runs them)."""
        notes = {
            other.id: self.env._(
                "Reminder sent with %(first)s (one email for the customer).", first=group[0].name
            )
            for _stage, group in groups
            for other in group[1:]
        }
        if notes:
            enrollments = self.env["collection.enrollment"].browse(list(notes))
            self.env["collection.mail.batch"]._log_notes(enrollments, notes)

    # ------------------------------------------------------------------
    # The company's notification layout
    # ------------------------------------------------------------------

    @api.model
    def _prepare_layout_context(self, lang, company):
        """What the layout reads besides the collection and the body: the
        company, and what the email is about (Odoo's ``send_mail`` gives the
        model's name)."""
        return {
            "company": company,
            "model_description": self.with_context(lang=lang).env._("Payment Request"),
        }
