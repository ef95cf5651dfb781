"""19.0.1.2.0: a customer's payment score is kept per company
(``collection.customer.score``) and an invoice's beside it
(``collection.invoice.score``, since 19.0.1.1.0). The columns that held them
on the contact and on the invoice go: the contact's held the last scored
company's score, whichever it was. Every customer with invoices is scored
again by the next run of *Collections: score customers*."""

from odoo import api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

FORMER_COLUMNS = {
    "res_partner": (
        "collection_score_band",
        "collection_score_computed_band",
        "collection_late_probability",
        "collection_score_factors",
        "collection_score_date",
    ),
    "account_move": (
        "collection_late_probability",
        "collection_predicted_pay_date",
        "collection_pay_date_from",
        "collection_pay_date_to",
    ),
}


def migrate(cr, version):
    if not version:
        return
    for table, columns in FORMER_COLUMNS.items():
        for column in columns:
            if column_exists(cr, table, column):
                cr.execute(
                    SQL("ALTER TABLE %s DROP COLUMN %s", SQL.identifier(table), SQL.identifier(column))
                )
    env = api.Environment(cr, api.SUPERUSER_ID, {})
    groups = env["account.move"]._read_group(
        [("move_type", "=", "out_invoice"), ("state", "=", "posted")], groupby=["commercial_partner_id"]
    )
    customers = env["res.partner"].browse(partner.id for (partner,) in groups)
    if customers:
        customers.collection_score_stale = True
        env.ref("collections_automation_score.ir_cron_collection_score_customers")._trigger()
