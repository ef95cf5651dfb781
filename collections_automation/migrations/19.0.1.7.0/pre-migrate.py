"""19.0.1.7.0, before the update: a collection keeps its invoice's
currency rate (``invoice_currency_rate``, for the analysis). Filled here in
one statement: Odoo would compute it collection by collection."""

from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column


def migrate(cr, version):
    if not version or column_exists(cr, "collection_enrollment", "invoice_currency_rate"):
        return
    create_column(cr, "collection_enrollment", "invoice_currency_rate", "numeric")
    cr.execute(
        SQL(
            """UPDATE collection_enrollment enrollment
                  SET invoice_currency_rate = move.invoice_currency_rate
                 FROM account_move move
                WHERE move.id = enrollment.move_id"""
        )
    )
