import uuid

from lxml import html

from odoo import api, models


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.model
    def _render_template_qweb(self, template_src, model, res_ids, add_context=None, options=None):
        """With ``collection_batch_render`` in the context, render a QWeb
        body for all ``res_ids`` in one pass: Odoo compiles an inline body
        again for every record, which was half of an engine run. The body is
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
        fence = '<t t-out="collection_batch_separator"/>'
        loop = f'<t t-foreach="collection_batch_records" t-as="object">{fence}{template_src}{fence}</t>'
        rendered = self.env["ir.qweb"]._render(
            html.fragment_fromstring(loop, create_parent="div"), variables, **(options or {})
        )
        # Each record's output stands between two separators.
        parts = rendered.split(separator)[1::2]
        if len(parts) != len(res_ids):
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        return dict(zip(res_ids, parts, strict=True))

    def _can_batch_render_qweb(self, template_src, model, res_ids):
        if not self.env.context.get("collection_batch_render") or len(res_ids) < 2 or not template_src:
            return False
        if not self._has_unsafe_expression_template_qweb(template_src, model):
            return False  # Odoo renders it with regular expressions, without QWeb
        # Restricted rendering checks each expression: leave it to Odoo.
        return bool(
            self._unrestricted_rendering
            or self.env.is_admin()
            or self.env.user.has_group("mail.group_mail_template_editor")
        )
