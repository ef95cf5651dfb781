"""19.0.1.4.0: late charge presets follow their laws.

- "Between businesses only" (``b2b_only``) becomes *Applies to*
  (``customer_scope``): a rule that charged only companies now charges
  businesses, a rule that charged everyone still does.
- A rule made from the United Kingdom preset and still reading the Bank
  Rate each half-year keeps the rate read when interest starts, as the Act
  does (SI 2002/1675, art. 4).
- A rule made from the Netherlands preset compounds yearly, as art. 6:119a
  BW does, unless it was set otherwise.

Charge invoices already made are not touched: the next stage that charges
invoices the difference, as it does for any interest accrued since.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists


def migrate(cr, version):
    if not version:
        return
    if column_exists(cr, "collection_late_charge_rule", "b2b_only"):
        cr.execute(
            SQL(
                "UPDATE collection_late_charge_rule"
                " SET customer_scope = CASE WHEN b2b_only THEN 'business' ELSE 'all' END"
            )
        )
    cr.execute(
        SQL(
            "UPDATE collection_late_charge_rule"
            " SET rate_fixed = COALESCE(preset = 'uk' AND rate_rule = 'half_year_before', FALSE)"
        )
    )
    cr.execute(
        SQL(
            "UPDATE collection_late_charge_rule SET compounding = 'yearly'"
            " WHERE preset = 'nl' AND compounding = 'none'"
        )
    )
