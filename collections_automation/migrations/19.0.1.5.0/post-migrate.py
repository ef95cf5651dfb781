"""19.0.1.5.0: consumer late charges count from the formal notice where
the law says so.

Each invoice in collections gets its formal notice from its history (the
first email or letter its collections sent after its due date) when the
ORM computes the new field, so a rule that counts from the notice goes on
charging the collections under way. Here: a rule made from the German
consumer preset counts interest from the reminder (Mahnung), as § 286 (1)
BGB does, unless it was set otherwise. Charge invoices already made are
not touched.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            "UPDATE collection_late_charge_rule SET interest_start = 'notice'"
            " WHERE preset = 'de_consumer' AND interest_start = 'due'"
        )
    )
