"""The one door to the Odoo mail internals that the engine needs to send
thousands of reminders and log thousands of notes in one run.

Odoo's public path works one record at a time: ``mail.template.send_mail``
renders and wraps one email, ``message_post`` makes one message with its
outgoing mail and notifications, a tracked ``write`` logs one note per
record. The methods here do the same for a batch, and for that reach into
methods Odoo does not offer as hooks. ``tests/test_mail_batch.py`` compares
each with the public path it stands for, so that an Odoo update that
changes one of them fails a test instead of sending a wrong email; ``make
lint`` refuses these internals in every other file of the add-on.
"""

import logging
import textwrap
import uuid
from collections import defaultdict

from lxml import etree, html
from markupsafe import Markup, escape

from odoo import api, models
from odoo.fields import Command
from odoo.tools.mail import html_to_inner_content
from odoo.tools.rendering_tools import parse_inline_template
from odoo.tools.safe_eval import safe_eval, test_python_expr

_logger = logging.getLogger(__name__)

# What stands for the parts of an email that differ from one email to the
# next when its layout is rendered once for a batch (see _wrap_in_layouts).
LAYOUT_BODY_MARK = "collections-layout-body-0f3a9c5e"
LAYOUT_NAME_MARK = "collections/layout/name/0f3a9c5e"


class CollectionMailBatch(models.AbstractModel):
    """Odoo's mail, for a batch of records at once."""

    _name = "collection.mail.batch"
    _description = "Collections: Odoo's mail in batches"

    # ------------------------------------------------------------------
    # send_mail, for a batch: render, wrap in the layout
    # ------------------------------------------------------------------

    @api.model
    def _render_template(self, template, res_ids, field_names):
        """{res_id: {field: value}} of ``template`` rendered for ``res_ids``,
        as ``send_mail`` renders it, in one pass (see ``MailTemplate``)."""
        return template.with_context(collection_batch_render=True)._generate_template(res_ids, field_names)

    @api.model
    def _wrap_in_layouts(self, templates, records, bodies, prepare_layout_context):
        """The outgoing body of each email (``templates``, ``records`` and
        ``bodies`` side by side): its body wrapped in its template's
        notification layout (``email_layout_xmlid``; the company's logo,
        colours and footer in Odoo's ``mail.mail_notification_light``),
        exactly as ``send_mail`` wraps it, or the bare body when the template
        names no layout. ``prepare_layout_context(lang, company)``: the
        values the layout reads besides the record and the body, as the
        caller gives them to ``_render_encapsulate`` in ``send_mail``.

        Odoo renders the layout for each email (measured: 1.7 ms each, more
        than half of what a whole reminder costs). Here it is rendered once
        per layout, language and company of the batch, and each email's
        body, preview and name are put in its place."""
        langs = {}
        for template, template_records in self._group_records_by_template(templates, records).items():
            if template.email_layout_xmlid and template.lang:
                langs.update(
                    {
                        (template, res_id): lang
                        for res_id, lang in template._render_lang(template_records.ids).items()
                    }
                )
        companies = records[0].concat(*records)._mail_get_companies(default=self.env.company)
        indexes_by_layout = defaultdict(list)
        for index, (template, record) in enumerate(zip(templates, records, strict=True)):
            if template.email_layout_xmlid:
                lang = langs.get((template, record.id)) or self.env.lang
                key = (template.email_layout_xmlid, lang, companies[record.id])
                indexes_by_layout[key].append(index)
        wrapped = list(bodies)
        for (layout, lang, company), indexes in indexes_by_layout.items():
            layout_context = prepare_layout_context(lang, company)
            shell = self._render_layout_shell(layout, lang, layout_context, [records[i] for i in indexes])
            for index in indexes:
                record = records[index].with_context(lang=lang)
                if shell:
                    wrapped[index] = self._fill_layout_shell(shell, bodies[index], record)
                else:
                    wrapped[index] = self._render_layout(layout, lang, layout_context, record, bodies[index])
        return wrapped

    @api.model
    def _group_records_by_template(self, templates, records):
        grouped = defaultdict(lambda: records[0].browse())
        for template, record in zip(templates, records, strict=True):
            grouped[template] |= record
        return grouped

    @api.model
    def _render_layout(self, layout, lang, layout_context, record, body):
        """Odoo's own wrapping, for one email (``send_mail``'s)."""
        return (
            self.env["mail.template"]
            .with_context(lang=lang)
            ._render_encapsulate(layout, body, add_context=layout_context, context_record=record)
        )

    @api.model
    def _render_layout_shell(self, layout, lang, layout_context, records):
        """The layout rendered once around marks, with how to fill it in, or
        None when it cannot be shared: fewer than two emails, or a layout
        whose output depends on the record beyond its name (rendered for no
        record, the first and the last one, it must come out the same, so
        that no email ever carries another record's data), or one that
        shows the marks in an unexpected form."""
        if len(records) < 2:
            return None
        body_mark = Markup("<p>%s</p>") % LAYOUT_BODY_MARK
        add_context = dict(layout_context, record_name=LAYOUT_NAME_MARK)
        Template = self.env["mail.template"].with_context(lang=lang)
        renderings = {
            str(
                Template._render_encapsulate(
                    layout, body_mark, add_context=add_context, context_record=record
                )
            )
            for record in (
                records[0].browse(),
                records[0].with_context(lang=lang),
                records[-1].with_context(lang=lang),
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
    def _fill_layout_shell(self, shell, body, record):
        name = record.display_name or ""
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

    # ------------------------------------------------------------------
    # message_post, for a batch
    # ------------------------------------------------------------------

    @api.model
    def _post_emails(self, records, payloads, mail_bodies, attachments, subtype):
        """Post one email in the chatter of each of ``records`` and queue it
        for its recipients: the records ``message_post`` makes for a comment
        notified by email (a message, its outgoing mail, its
        notifications), created in bulk. ``payloads``: dicts with subject,
        body, email_from, reply_to and partner_ids; ``mail_bodies``: the
        outgoing bodies (the body in its layout); ``attachments``: {record
        id: attachment ids}. Returns the messages."""
        author = self.env.user.partner_id
        messages = self._create_messages(records, payloads, attachments, subtype, author)
        mails = self._queue_mails(messages, payloads, mail_bodies)
        self._create_notifications(mails, payloads, author)
        return messages

    def _create_messages(self, records, payloads, attachments, subtype, author):
        return (
            self.env["mail.message"]
            .sudo()
            .create(
                [
                    {
                        "model": record._name,
                        "res_id": record.id,
                        "record_name": record.display_name,
                        "message_type": "comment",
                        "subtype_id": subtype.id,
                        "author_id": author.id,
                        "subject": payload["subject"],
                        "body": payload["body"],
                        "email_from": payload["email_from"],
                        "reply_to": payload["reply_to"],
                        "partner_ids": [Command.set(payload["partner_ids"])],
                        "attachment_ids": [Command.set(attachments.get(record.id, []))],
                    }
                    for record, payload in zip(records, payloads, strict=True)
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

    # ------------------------------------------------------------------
    # Notes and tracking, for a batch
    # ------------------------------------------------------------------

    @api.model
    def _log_notes(self, records, bodies):
        """One note in the chatter of each of ``records``: its body of
        ``bodies`` ({id: body}), as ``_message_log`` logs it, in bulk."""
        return records._message_log_batch(bodies=bodies)

    @api.model
    def _write_and_log(self, records, values, bodies):
        """Write ``values`` on ``records`` and log one note on each: its body
        of ``bodies`` with the tracked fields that changed, for the whole
        batch. Odoo's own tracking logs a message per record, one at a time:
        a run may escalate thousands. The caller checked the access to these
        records."""
        tracked = records._track_get_fields().intersection(values)
        attributes = ("string", "type", "selection", "currency_field")
        tracked_info = records.fields_get(tracked, attributes=attributes)
        # An earlier write of this transaction may have prepared Odoo's
        # tracking of these records (it logs at commit, from the values of
        # that moment): take their values from it, and leave the fields
        # logged here out of it.
        prepared = self.env.cr.precommit.data.get(f"mail.tracking.{records._name}", {})
        initial_values = {}
        for record in records:
            before = prepared.get(record.id) or {}
            initial_values[record.id] = {name: before.pop(name, record[name]) for name in tracked}
        records.with_context(mail_notrack=True).write(values)
        tracking_values = []
        for message in self._log_notes(records, bodies):
            record = records.browse(message.res_id)
            _changes, commands = record._mail_track(tracked_info, initial_values[record.id])
            tracking_values += [
                dict(tracking, mail_message_id=message.id) for _command, _id, tracking in commands
            ]
        self.env["mail.tracking.value"].sudo().create(tracking_values)


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.model
    def _render_template_qweb(self, template_src, model, res_ids, add_context=None, options=None):
        """With ``collection_batch_render`` in the context, render a QWeb
        body for all ``res_ids`` in one pass: Odoo compiles an inline body
        again for every record, which would be half of an engine run. The
        body is
        wrapped in a loop over the records, each record's output fenced by a
        separator, and the output split per record;
        Odoo's post-processing then runs per record as usual."""
        if not self._can_batch_render_qweb(template_src, model, res_ids):
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        separator = f"collections-batch-{uuid.uuid4().hex}"
        variables = self._render_eval_context()
        variables.update(add_context or {})
        variables.update(
            collection_batch_records=self.env[model].browse(res_ids), collection_batch_separator=separator
        )
        loop = self._get_batch_qweb(template_src)
        rendered = self.env["ir.qweb"]._render(loop, variables, **(options or {}))
        # Each record's output stands between two separators.
        parts = rendered.split(separator)[1::2]
        if len(parts) != len(res_ids):
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        return dict(zip(res_ids, parts, strict=True))

    @api.model
    def _get_batch_qweb(self, template_src):
        """The body's QWeb in a loop over the batch's records, each record's
        output between two separators."""
        loop = etree.Element("t", {"t-foreach": "collection_batch_records", "t-as": "object"})
        loop.append(etree.Element("t", {"t-out": "collection_batch_separator"}))
        loop.append(html.fragment_fromstring(template_src, create_parent="t"))
        loop.append(etree.Element("t", {"t-out": "collection_batch_separator"}))
        root = etree.Element("div")
        root.append(loop)
        return root

    def _can_batch_render_qweb(self, template_src, model, res_ids):
        if not self.env.context.get("collection_batch_render") or len(res_ids) < 2 or not template_src:
            return False
        if not self._has_unsafe_expression_template_qweb(template_src, model):
            return False  # Odoo renders it with regular expressions, without QWeb
        return self._may_batch_render()

    def _may_batch_render(self):
        # Restricted rendering checks each expression: leave it to Odoo.
        return bool(
            self._unrestricted_rendering
            or self.env.is_admin()
            or self.env.user.has_group("mail.group_mail_template_editor")
        )

    @api.model
    def _render_template_inline_template(self, template_txt, model, res_ids, add_context=None, options=None):
        """With ``collection_batch_render`` in the context, evaluate the
        expressions of an inline template (subject, sender, recipients) for
        all ``res_ids`` in one ``safe_eval`` call: safe_eval compiles and
        checks an expression again for every record, which would be a tenth
        of an engine run. Any error is left to Odoo's path, which reports it."""
        if (
            not self.env.context.get("collection_batch_render")
            or len(res_ids) < 2
            or not template_txt
            or not self._has_unsafe_expression_template_inline_template(str(template_txt), model)
            or not self._may_batch_render()
        ):
            return super()._render_template_inline_template(
                template_txt, model, res_ids, add_context=add_context, options=options
            )
        try:
            return self._render_inline_template_batch(str(template_txt), model, res_ids, add_context)
        except Exception:  # noqa: BLE001 -- Odoo's path raises the error the user should see
            return super()._render_template_inline_template(
                template_txt, model, res_ids, add_context=add_context, options=options
            )

    def _render_inline_template_batch(self, template_txt, model, res_ids, add_context):
        instructions = parse_inline_template(template_txt)
        expressions = [expression.strip() for _string, expression, _default in instructions if expression]
        for expression in expressions:
            # Each one a single valid expression, so that the tuple below
            # holds exactly one value per expression.
            if error := test_python_expr(expression, mode="eval"):
                raise ValueError(error)
        # Newlines, so that a comment ending an expression cannot swallow
        # the parenthesis that closes it.
        values = "".join(f"(\n{expression}\n)," for expression in expressions)
        variables = self._render_eval_context()
        variables.update(add_context or {})
        variables["collection_batch_records"] = records = self.env[model].browse(res_ids)
        rows = safe_eval(f"[({values}) for object in collection_batch_records]", variables)
        results = {}
        for record, row in zip(records, rows, strict=True):
            row_values = iter(row)
            parts = []
            for string, expression, default in instructions:
                parts.append(string)
                if expression:
                    value = next(row_values) or default
                    if value:
                        parts.append(str(value))
            results[record.id] = "".join(parts)
        return results
