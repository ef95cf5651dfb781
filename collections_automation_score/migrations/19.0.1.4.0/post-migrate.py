"""19.0.1.4.0: the invoice and customer scores no longer record who wrote
them and when (the scoring alone writes them; their day is the score's).
Odoo leaves a former field's column in place: the four go, and with them
the references to the users that each new score had checked."""

from odoo.tools import SQL
from odoo.tools.sql import column_exists

SCORE_TABLES = ("collection_invoice_score", "collection_customer_score")
LOG_ACCESS_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")


def migrate(cr, version):
    if not version:
        return
    for table in SCORE_TABLES:
        for column in LOG_ACCESS_COLUMNS:
            if column_exists(cr, table, column):
                cr.execute(
                    SQL("ALTER TABLE %s DROP COLUMN %s", SQL.identifier(table), SQL.identifier(column))
                )
