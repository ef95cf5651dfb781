"""19.0.1.2.0: reminders come wrapped in the company's notification layout.

The shipped email templates are ``noupdate``: an upgrade does not rewrite
them. Give those that name no layout Odoo's light notification layout (the
company's logo, colours and footer), as new databases get; a template an
administrator gave a layout keeps it.
"""

from odoo import SUPERUSER_ID, api

LAYOUT = "mail.mail_notification_light"


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    templates = (
        env["ir.model.data"]
        .search([("module", "=", "collections_automation"), ("model", "=", "mail.template")])
        .mapped("res_id")
    )
    env["mail.template"].browse(templates).exists().filtered(lambda t: not t.email_layout_xmlid).write(
        {"email_layout_xmlid": LAYOUT}
    )
