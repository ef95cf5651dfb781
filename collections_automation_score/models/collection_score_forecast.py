from datetime import timedelta

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ..scoring import forecast
from ..scoring.ledger import to_day

FORECAST_WEEKS = 13


class CollectionScoreForecast(models.Model):
    """A week's expected receipts, as forecast at the start of a week from
    the open invoices' predicted pay dates, and, once the week is over, what
    came in on those invoices: kept, so that a team sees whether to trust
    the forecast."""

    _name = "collection.score.forecast"
    _description = "Cash-in forecast"
    _order = "made_on desc, week_start, id"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    made_on = fields.Date(string="Forecast on", required=True, readonly=True)
    week_start = fields.Date(string="Week", required=True, readonly=True)
    weeks_ahead = fields.Integer(string="Weeks ahead", readonly=True, help="0: the week it was made in.")
    expected = fields.Monetary(readonly=True)
    expected_low = fields.Monetary(string="Expected from", readonly=True)
    expected_high = fields.Monetary(string="Expected to", readonly=True)
    actual = fields.Monetary(string="Received", readonly=True)
    actual_known = fields.Boolean(string="Week over", readonly=True)
    error = fields.Monetary(compute="_compute_error", store=True, help="Received minus expected.")
    within_interval = fields.Boolean(string="Within the interval", compute="_compute_error", store=True)

    _forecast_unique = models.Constraint(
        "UNIQUE(company_id, made_on, week_start)", "A week is forecast once a week."
    )

    @api.depends("expected", "expected_low", "expected_high", "actual", "actual_known")
    def _compute_error(self):
        for line in self:
            line.error = line.actual - line.expected if line.actual_known else 0.0
            line.within_interval = (
                line.actual_known and line.expected_low <= line.actual <= line.expected_high
            )

    @api.model
    def _week_start(self, day):
        return day - timedelta(days=day.weekday())

    @api.model
    def _get_open_invoice_forecast_values(self, company, today):
        """The live forecast of ``company`` from today's scores:
        [{week_start, expected, expected_low, expected_high}] for
        FORECAST_WEEKS weeks from this one."""
        # Read as superuser: the forecast is the company's figure, summed
        # over its open invoices like the KPIs beside it, and a collector
        # may see it without being allowed to open invoices.
        invoices = (
            self.env["account.move"]
            .sudo()
            .search_fetch(
                [
                    ("company_id", "=", company.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("collection_predicted_pay_date", "!=", False),
                ],
                [
                    "amount_residual_signed",
                    "collection_pay_date_from",
                    "collection_predicted_pay_date",
                    "collection_pay_date_to",
                ],
            )
        )
        first = self._week_start(today)
        amounts = np.array(invoices.mapped("amount_residual_signed"), dtype=np.float64)
        days = np.array(
            [
                [
                    to_day(invoice.collection_pay_date_from),
                    to_day(invoice.collection_predicted_pay_date),
                    to_day(invoice.collection_pay_date_to),
                ]
                for invoice in invoices
            ],
            dtype=np.int64,
        ).reshape(-1, 3)
        expected, low, high = forecast.weekly_receipts(amounts, days, to_day(first), FORECAST_WEEKS)
        return [
            {
                "week_start": first + timedelta(weeks=week),
                "expected": float(expected[week]),
                "expected_low": float(low[week]),
                "expected_high": float(high[week]),
            }
            for week in range(FORECAST_WEEKS)
        ]

    @api.model
    def _refresh(self, company, today):
        """Keep this week's forecast (the first one made in it) and fill in
        what came in during the weeks that are over."""
        this_week = self._week_start(today)
        domain = [("company_id", "=", company.id), ("made_on", ">=", this_week)]
        if not self.search_count(domain, limit=1):
            self.create(
                [
                    {
                        **values,
                        "company_id": company.id,
                        "made_on": today,
                        "weeks_ahead": week,
                    }
                    for week, values in enumerate(self._get_open_invoice_forecast_values(company, today))
                ]
            )
        over = self.search(
            [
                ("company_id", "=", company.id),
                ("actual_known", "=", False),
                ("week_start", "<=", this_week - timedelta(weeks=1)),
            ]
        )
        for line in over:
            line.write({"actual": line._get_actual(), "actual_known": True})

    def _get_actual(self):
        """What the company's customers paid during the week on the invoices
        issued before the forecast was made: cash, as the KPIs count it."""
        self.ensure_one()
        [(amount,)] = self.env.execute_query(
            SQL(
                """
                SELECT COALESCE(SUM(partial.amount), 0)
                  FROM account_partial_reconcile partial
                  JOIN account_move_line line ON line.id = partial.debit_move_id
                  JOIN account_move move ON move.id = line.move_id
                  JOIN account_move_line credit_line ON credit_line.id = partial.credit_move_id
                  JOIN account_move credit_move ON credit_move.id = credit_line.move_id
                 WHERE move.company_id = %(company)s
                   AND move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.invoice_date < %(made_on)s
                   AND %(cash)s
                   AND partial.max_date BETWEEN %(week_start)s AND %(week_end)s
                """,
                company=self.company_id.id,
                cash=self.env["collection.kpi"]._get_cash_move_condition("credit_move"),
                made_on=self.made_on,
                # The week it was made in counts from that day.
                week_start=max(self.week_start, self.made_on),
                week_end=self.week_start + timedelta(days=6),
            )
        )
        return amount
