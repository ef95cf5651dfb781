"""19.0.1.1.0: an escalated collection is open for the money.

Before this version the overdue trigger enrolled an escalated invoice again
at every run, so an invoice may hold several escalated collections, and
escalation set ``closed_on``, which kept later payments out of cash
collected. The unique index of open collections now covers escalated ones:
keep the newest open collection of each invoice, close the older ones as
replaced, and move the escalation date out of ``closed_on``.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
            ALTER TABLE collection_enrollment
                ADD COLUMN IF NOT EXISTS escalated_on date,
                ADD COLUMN IF NOT EXISTS cancel_reason varchar
            """
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE collection_enrollment
               SET escalated_on = closed_on, closed_on = NULL
             WHERE state = 'escalated'
            """
        )
    )
    # Running and paused collections come first: at most one of them per
    # invoice existed already; among escalated ones, the newest stays.
    cr.execute(
        SQL(
            """
            WITH ranked AS (
                SELECT id,
                       row_number() OVER (
                           PARTITION BY move_id
                           ORDER BY (state IN ('running', 'paused')) DESC, id DESC
                       ) AS rank
                  FROM collection_enrollment
                 WHERE move_id IS NOT NULL AND state IN ('running', 'paused', 'escalated')
            )
            UPDATE collection_enrollment enrollment
               SET state = 'cancelled', cancel_reason = 'reenrolled',
                   closed_on = COALESCE(enrollment.escalated_on, CURRENT_DATE)
              FROM ranked
             WHERE ranked.id = enrollment.id AND ranked.rank > 1
            """
        )
    )
