"""19.0.1.5.1: Belgium counts the 14 days of a consumer's first reminder
from the working day after it was emailed (Code of Economic Law, art.
XIX.2). A rule made from the Belgian consumer preset counts them so,
unless it was set otherwise."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            "UPDATE collection_late_charge_rule SET notice_days_from = 'next_working_day'"
            " WHERE preset = 'be_consumer' AND notice_days_from = 'next_day'"
        )
    )
