"""19.0.1.5.0: consumer late charges count from the formal notice where
the law says so.

Each invoice whose collections emailed a reminder gets its formal notice
from that history (the first reminder emailed after its due date), so a
rule that counts from the notice goes on charging the collections under
way. A rule made from the German consumer preset counts interest from the
reminder (Mahnung), as § 286 (1) BGB does, unless it was set otherwise.
Charge invoices already made are not touched.
"""

from odoo import SUPERUSER_ID, api
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
    env = api.Environment(cr, SUPERUSER_ID, {})
    invoices = env["account.move"].search(
        [("collection_notice_date", "=", False), ("collection_enrollment_ids.event_ids.action", "=", "email")]
    )
    env.add_to_compute(invoices._fields["collection_notice_date"], invoices)
    env.flush_all()
