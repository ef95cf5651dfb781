import uuid

from lxml import html

from odoo import api, models
from odoo.tools.rendering_tools import parse_inline_template
from odoo.tools.safe_eval import safe_eval, test_python_expr


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
        checks an expression again for every record, which was a tenth of an
        engine run. Any error is left to Odoo's path, which reports it."""
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
