import logging
import textwrap
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import api, models
from odoo.fields import Command
from odoo.tools.mail import html_to_inner_content

_logger = logging.getLogger(__name__)

EMAIL_RENDER_FIELDS = ("subject", "body_html", "email_from", "reply_to", "partner_to", "email_cc", "email_to")
# What stands for the parts of a reminder that differ from one email to the
# next when its layout is rendered once for a batch (see _wrap_in_layouts).
LAYOUT_BODY_MARK = "collections-layout-body-0f3a9c5e"
LAYOUT_NAME_MARK = "collections/layout/name/0f3a9c5e"


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
            for res_id, values in batch_template._generate_template(first_ids, EMAIL_RENDER_FIELDS).items():
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
        it for the customer: the records ``message_post`` would make (a
        message, its outgoing mail, its notifications), created in bulk."""
        author = self.env.user.partner_id
        payloads = [
            self._prepare_email_values(stage, group, values)
            for (stage, group), values in zip(groups, self._render_emails(groups), strict=True)
        ]
        mail_bodies = self._wrap_in_layouts(groups, [payload["body"] for payload in payloads])
        Letter = self.env["collection.stage.action.letter"]
        attachments = Letter._render_letter_attachments([(s, g) for s, g in groups if s.attach_letter])
        messages = self._create_messages(groups, payloads, attachments, author)
        mails = self._queue_mails(messages, payloads, mail_bodies)
        self._create_notifications(mails, payloads, author)
        self._log_consolidated_notes(groups)
        return messages

    def _create_messages(self, groups, payloads, attachments, author):
        subtype = self.env.ref("collections_automation.mail_message_subtype_collection_reminder")
        return (
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

    def _queue_mails(self, messages, payloads, mail_bodies):
        return (
            self.env["mail.mail"]
            .sudo()
            .create(
                [
                    {
                        "mail_message_id": message.id,
                        "body_html": mail_body,
                        "recipient_ids": [Command.set(payload["partner_ids"])],
                        "is_notification": True,
                        "auto_delete": False,
                        "state": "outgoing",
                    }
                    for message, payload, mail_body in zip(messages, payloads, mail_bodies, strict=True)
                ]
            )
        )

    def _create_notifications(self, mails, payloads, author):
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
            self.env["collection.enrollment"].browse(list(notes))._message_log_batch(bodies=notes)

    # ------------------------------------------------------------------
    # The company's notification layout
    # ------------------------------------------------------------------

    @api.model
    def _prepare_layout_context(self, lang, company):
        return {
            "company": company,
            "model_description": self.with_context(lang=lang).env._("Payment Request"),
        }

    @api.model
    def _wrap_in_layouts(self, groups, bodies):
        """The outgoing body of each group's email: its template's body
        wrapped in the template's notification layout (``email_layout_xmlid``;
        the company's logo, colours and footer in Odoo's
        ``mail.mail_notification_light``), exactly as Odoo's
        ``mail.template.send_mail`` wraps it, or the bare body when the
        template names no layout. The chatter keeps the bare body, as
        Odoo's notifications do.

        Measured: Odoo renders the layout for each email (1.7 ms each here,
        more than half of what a whole reminder costs). The layout is
        rendered once per layout, language and company of the batch, and
        each email's body, preview and name are put in its place."""
        firsts = [group[0] for _stage, group in groups]
        langs = {}
        for template, template_firsts in self._group_firsts_by_template(groups).items():
            if template.email_layout_xmlid and template.lang:
                langs.update(
                    {
                        (template, res_id): lang
                        for res_id, lang in template._render_lang(template_firsts.ids).items()
                    }
                )
        companies = (
            self.env["collection.enrollment"].concat(*firsts)._mail_get_companies(default=self.env.company)
        )
        indexes_by_layout = defaultdict(list)
        for index, (stage, group) in enumerate(groups):
            template = stage.mail_template_id
            if template.email_layout_xmlid:
                lang = langs.get((template, group[0].id)) or self.env.lang
                key = (template.email_layout_xmlid, lang, companies[group[0].id])
                indexes_by_layout[key].append(index)
        wrapped = list(bodies)
        for (layout, lang, company), indexes in indexes_by_layout.items():
            shell = self._render_layout_shell(layout, lang, company, [firsts[i] for i in indexes])
            for index in indexes:
                first = firsts[index].with_context(lang=lang)
                if shell:
                    wrapped[index] = self._fill_layout_shell(shell, bodies[index], first)
                else:
                    wrapped[index] = self._render_layout(layout, lang, company, first, bodies[index])
        return wrapped

    @api.model
    def _group_firsts_by_template(self, groups):
        firsts = defaultdict(lambda: self.env["collection.enrollment"])
        for stage, group in groups:
            firsts[stage.mail_template_id] |= group[0]
        return firsts

    @api.model
    def _render_layout(self, layout, lang, company, first, body):
        """Odoo's own wrapping, for one email (``send_mail``'s)."""
        return (
            self.env["mail.template"]
            .with_context(lang=lang)
            ._render_encapsulate(
                layout, body, add_context=self._prepare_layout_context(lang, company), context_record=first
            )
        )

    @api.model
    def _render_layout_shell(self, layout, lang, company, firsts):
        """The layout rendered once around marks, with how to fill it in, or
        None when it cannot be shared: fewer than two emails, or a layout
        whose output depends on the record beyond its name (rendered for no
        record, the first and the last one, it must come out the same, so
        that no email ever carries another record's data), or one that
        shows the marks in an unexpected form."""
        if len(firsts) < 2:
            return None
        body_mark = Markup("<p>%s</p>") % LAYOUT_BODY_MARK
        add_context = dict(self._prepare_layout_context(lang, company), record_name=LAYOUT_NAME_MARK)
        Template = self.env["mail.template"].with_context(lang=lang)
        renderings = {
            str(
                Template._render_encapsulate(
                    layout, body_mark, add_context=add_context, context_record=record
                )
            )
            for record in (
                firsts[0].browse(),
                firsts[0].with_context(lang=lang),
                firsts[-1].with_context(lang=lang),
            )
        }
        if len(renderings) != 1:
            _logger.info("collections: layout %s depends on the record, rendered for each email", layout)
            return None
        [html] = renderings
        dashed_name = LAYOUT_NAME_MARK.replace("/", "-")
        if html.count(str(body_mark)) != 1 or (LAYOUT_NAME_MARK in html and dashed_name in html):
            _logger.info(
                "collections: layout %s shows its content unexpectedly, rendered for each email", layout
            )
            return None
        return {"html": html, "body_mark": str(body_mark), "dashes_in_name": dashed_name in html}

    @api.model
    def _fill_layout_shell(self, shell, body, first):
        name = first.display_name or ""
        if shell["dashes_in_name"]:
            # Odoo's layouts print the record name with dashes for slashes.
            name = name.replace("/", "-")
            name_mark = LAYOUT_NAME_MARK.replace("/", "-")
        else:
            name_mark = LAYOUT_NAME_MARK
        # mail.message's preview line, computed as Odoo does (_compute_preview)
        # without making a message, whose body Odoo would sanitize first.
        preview = textwrap.shorten(html_to_inner_content(body), 190)
        html = shell["html"].replace(shell["body_mark"], str(body))
        html = html.replace(LAYOUT_BODY_MARK, str(escape(preview))).replace(name_mark, str(escape(name)))
        return Markup(html)
