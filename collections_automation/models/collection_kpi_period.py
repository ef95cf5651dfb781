import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import format_date

from .collection_dashboard import KPI_HELP, KPI_LABELS

_logger = logging.getLogger(__name__)

# How far back the trends go: a year of months, the one in progress
# included, and a quarter of weeks.
TREND_MONTHS = 12
TREND_WEEKS = 13
# Periods that ended within these days are computed again on each refresh: a
# payment registered late, or a reconciliation undone, still changes them.
RECENT_DAYS = 35
# The KPIs a period keeps, as collection.kpi computes them.
PERIOD_KPIS = (
    "cash_collected",
    "recovery_rate",
    "median_days_to_collect",
    "dso_countback",
    "best_dso_countback",
    "cei",
    "promise_kept_rate",
    "aging_current",
    "aging_1_30",
    "aging_31_60",
    "aging_61_90",
    "aging_over_90",
)


def _trend_field(name, field_class, aggregator):
    return field_class(KPI_LABELS[name], readonly=True, aggregator=aggregator, help=KPI_HELP[name])


class CollectionKpiPeriod(models.Model):
    """The collections KPIs of a company for one calendar month or week, as
    the KPI screen computes them, kept so that trends can be charted: the
    Dashboards app and the KPI screen read them instead of computing a year
    of KPIs on every view. A scheduled action keeps the recent periods
    current; the one in progress holds its figures up to today."""

    _name = "collection.kpi.period"
    _description = "Collections KPIs by period"
    _order = "date_from desc, period_type"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    currency_id = fields.Many2one(related="company_id.currency_id")
    period_type = fields.Selection(
        [("month", "Month"), ("week", "Week")], string="Period type", required=True, readonly=True
    )
    date_from = fields.Date(string="Period", required=True, readonly=True)
    date_to = fields.Date(string="Period end", required=True, readonly=True)
    computed_to = fields.Date(
        string="Counted up to", readonly=True, help="The last day counted: today for the period in progress."
    )
    stage_line_ids = fields.One2many(
        "collection.kpi.period.stage", "period_id", string="Stage lines", readonly=True
    )

    cash_collected = _trend_field("cash_collected", fields.Monetary, "sum")
    recovery_rate = _trend_field("recovery_rate", fields.Float, "avg")
    median_days_to_collect = _trend_field("median_days_to_collect", fields.Float, "avg")
    dso_countback = _trend_field("dso_countback", fields.Float, "avg")
    best_dso_countback = _trend_field("best_dso_countback", fields.Float, "avg")
    cei = _trend_field("cei", fields.Float, "avg")
    promise_kept_rate = _trend_field("promise_kept_rate", fields.Float, "avg")
    # An aging is a balance on the period's last day: the companies' add up
    # in a period; grouped over several periods, the sum means nothing (the
    # views and the dashboard group by period).
    aging_current = _trend_field("aging_current", fields.Monetary, "sum")
    aging_1_30 = _trend_field("aging_1_30", fields.Monetary, "sum")
    aging_31_60 = _trend_field("aging_31_60", fields.Monetary, "sum")
    aging_61_90 = _trend_field("aging_61_90", fields.Monetary, "sum")
    aging_over_90 = _trend_field("aging_over_90", fields.Monetary, "sum")

    _company_period_unique = models.Constraint(
        "UNIQUE(company_id, period_type, date_from)",
        "A company has one set of KPIs per period.",
    )

    @api.model
    def _get_trend_periods(self, today, months=TREND_MONTHS, weeks=TREND_WEEKS):
        """(type, first day, last day) of the months and ISO weeks (Monday to
        Sunday) that end the trends on ``today``, the current ones included."""
        periods = []
        month_start = today.replace(day=1)
        for back in range(months):
            start = month_start - relativedelta(months=back)
            periods.append(("month", start, start + relativedelta(months=1, days=-1)))
        week_start = today - timedelta(days=today.weekday())
        for back in range(weeks):
            start = week_start - timedelta(weeks=back)
            periods.append(("week", start, start + timedelta(days=6)))
        return periods

    @api.model
    def _refresh(self, companies=None):
        """Compute the periods of each company's trends that are missing or
        recent (RECENT_DAYS); older ones keep their figures, and those the
        trends no longer reach go (the KPI screen computes any period)."""
        if companies is None:
            companies = self._get_companies_to_refresh()
        for company in companies:
            # One company's failure leaves the others' trends current.
            try:
                with self.env.cr.savepoint():
                    # The periods are the company's figures, written by the
                    # system for everyone who reads them (nobody may write
                    # them): the same whichever user triggers the refresh.
                    self.sudo()._refresh_company(company)
            except Exception:  # logged, and the next company's turn comes
                _logger.exception("The KPI trends of %s could not be updated", company.display_name)

    @api.model
    def _get_companies_to_refresh(self):
        """The companies that collect: those with collections."""
        # The trends count every collection, whoever triggers the refresh.
        groups = self.env["collection.enrollment"].sudo()._read_group([], groupby=["company_id"])
        return self.env["res.company"].browse(company.id for (company,) in groups)

    @api.model
    def _refresh_company(self, company):
        # The days first: the periods below add them up.
        self.env["collection.kpi.day"]._keep_days(company)
        today = company._get_collection_today()
        kept = {
            (period.period_type, period.date_from): period
            for period in self.search([("company_id", "=", company.id)])
        }
        trend_periods = self._get_trend_periods(today)
        window = {(period_type, date_from) for period_type, date_from, _date_to in trend_periods}
        self.browse(period.id for key, period in kept.items() if key not in window).unlink()
        for period_type, date_from, date_to in trend_periods:
            period = kept.get((period_type, date_from))
            if (
                period
                and period.computed_to >= period.date_to
                and period.date_to < today - timedelta(days=RECENT_DAYS)
            ):
                continue
            computed_to = min(date_to, today)
            kpis = self.env["collection.kpi"]._get_kpis(company, date_from, computed_to)
            values = self._prepare_period_values(kpis, computed_to, company)
            if period:
                period.stage_line_ids.unlink()
                period.write(values)
            else:
                self.create(
                    {
                        **values,
                        "company_id": company.id,
                        "period_type": period_type,
                        "date_from": date_from,
                        "date_to": date_to,
                    }
                )

    @api.model
    def _prepare_period_values(self, kpis, computed_to, company):
        """The period's figures from ``collection.kpi._get_kpis``, with a line
        per stage that ran or was followed by a payment in it."""
        lines = {
            (process_id, stage_id): {"cash_collected": amount}
            for (process_id, stage_id), amount in kpis["cash_collected_by_stage"].items()
        }
        stages = self.env["collection.stage"].browse(kpis["stage_effectiveness"])
        for stage in stages:
            reached, paid = kpis["stage_effectiveness"][stage.id]
            line = lines.setdefault((stage.process_id.id, stage.id), {"cash_collected": 0.0})
            line.update(reached=reached, paid_before_next=paid)
        named = (
            self.env["collection.stage"]
            .browse(stage_id for _process_id, stage_id in lines if stage_id)
            .with_context(lang=company._get_collection_lang())
        )
        names = {stage.id: stage.name for stage in named}
        return {
            **{name: kpis[name] for name in PERIOD_KPIS},
            "computed_to": computed_to,
            "stage_line_ids": [
                fields.Command.create(
                    {
                        **line,
                        "process_id": process_id,
                        "stage_id": stage_id or False,
                        "stage_name": names.get(stage_id, False),
                    }
                )
                for (process_id, stage_id), line in lines.items()
            ],
        }

    @api.depends("period_type", "date_from")
    def _compute_display_name(self):
        for period in self:
            if not period.date_from:
                period.display_name = False
            elif period.period_type == "week":
                period.display_name = self.env._(
                    "Week of %(day)s", day=format_date(self.env, period.date_from)
                )
            else:
                period.display_name = format_date(self.env, period.date_from, date_format="MMMM y")

    @api.model
    def _cron_refresh(self):
        self._refresh()
