from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_date
from odoo.tools.misc import format_decimalized_amount

CHART_HEIGHT = 100  # px of the tallest interval
TRACKED_WEEKS = 8


class CollectionDashboard(models.TransientModel):  # pylint: disable=no-wizard-in-models
    _inherit = "collection.dashboard"

    cash_forecast = fields.Html(
        string="Cash-in forecast",
        compute="_compute_cash_forecast",
        sanitize=False,
        help="Expected receipts per week for the next 13 weeks, from the open invoices' predicted pay "
        "dates, with their 80% interval; and, for the weeks that are over, the forecast made the week "
        "before beside what came in.",
    )

    @api.depends("company_id")
    def _compute_cash_forecast(self):
        Forecast = self.env["collection.score.forecast"]
        for dashboard in self:
            company = dashboard.company_id
            today = company._get_collection_today()
            weeks = Forecast._get_open_invoice_forecast_values(company, today)
            tracked = Forecast.search(
                [("company_id", "=", company.id), ("actual_known", "=", True), ("weeks_ahead", "=", 1)],
                order="week_start desc",
                limit=TRACKED_WEEKS,
            )[::-1]
            dashboard.cash_forecast = self.env["ir.qweb"]._render(
                "collections_automation_score.collection_cash_forecast",
                {
                    "weeks": dashboard._prepare_forecast_bars(weeks),
                    "tracked": [dashboard._prepare_tracked_week(line) for line in tracked],
                    "error": dashboard._format_tracking_error(tracked),
                },
            )

    def _prepare_forecast_bars(self, weeks):
        """One bar per week (the expected receipts) and its interval, scaled
        against the largest upper bound."""
        self.ensure_one()
        top = max((week["expected_high"] for week in weeks), default=0.0)

        def height(value):
            return round(max(value, 0.0) / top * CHART_HEIGHT, 1) if top > 0 else 0.0

        return [
            {
                "label": format_date(self.env, week["week_start"], date_format="d MMM"),
                "expected": self.currency_id.format(week["expected"]),
                "short": format_decimalized_amount(week["expected"], self.currency_id),
                "interval": self.env._(
                    "%(low)s to %(high)s",
                    low=self.currency_id.format(week["expected_low"]),
                    high=self.currency_id.format(week["expected_high"]),
                ),
                "height": height(week["expected"]),
                "low": height(week["expected_low"]),
                "high": height(week["expected_high"]),
            }
            for week in weeks
        ]

    def _prepare_tracked_week(self, line):
        week_end = line.week_start + timedelta(days=6)
        return {
            "week": self.env._(
                "%(start)s to %(end)s",
                start=format_date(self.env, line.week_start),
                end=format_date(self.env, week_end),
            ),
            "expected": self.currency_id.format(line.expected),
            "interval": self.env._(
                "%(low)s to %(high)s",
                low=self.currency_id.format(line.expected_low),
                high=self.currency_id.format(line.expected_high),
            ),
            "actual": self.currency_id.format(line.actual),
            "error": self.currency_id.format(line.error),
            "within": line.within_interval,
        }

    def _format_tracking_error(self, tracked):
        """The mean absolute error of the tracked weeks, against what came in."""
        received = sum(tracked.mapped("actual"))
        if not tracked or not received:
            return None
        error = sum(abs(line.error) for line in tracked) / sum(abs(line.actual) for line in tracked)
        return self.env._(
            "Over these %(count)s weeks, the forecast was off by %(error)s%% of what came in; %(within)s "
            "of %(count)s weeks fell within the interval.",
            count=len(tracked),
            error=round(100 * error),
            within=len(tracked.filtered("within_interval")),
        )
