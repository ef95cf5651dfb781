"""19.0.1.5.0, before the update: the invoice's *Formal notice sent on*
gets its column here, empty, so that the ORM does not compute the new
field on every invoice of the database (journal entries and vendor bills
included); post-migrate computes it on the invoices whose collections
emailed a reminder."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("ALTER TABLE account_move ADD COLUMN IF NOT EXISTS collection_notice_date date"))
