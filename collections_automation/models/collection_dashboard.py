from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import format_date, formatLang

# (field, label, one-line definition shown in the UI), as in the README.
KPI_DEFINITIONS = [
    (
        "cash_collected",
        "Cash collected",
        "Payments reconciled with enrolled invoices (or their late charges) while enrolled, dated in the "
        "period.",
    ),
    (
        "recovery_rate",
        "Recovery rate (%)",
        "Amount collected / (amount enrolled + late charges posted), for collections started in the period, "
        "unfinished ones included.",
    ),
    (
        "recovery_rate_count",
        "Recovery rate by count (%)",
        "Paid collections / collections started in the period.",
    ),
    (
        "median_days_to_collect",
        "Median days to collect",
        "Median days from enrollment to full payment, for collections paid in the period.",
    ),
    ("dso_simple", "DSO (simple)", "Ending receivables / credit sales of the period x days in the period."),
    (
        "best_dso_simple",
        "Best possible DSO (simple)",
        "The simple DSO with only the receivables not yet due.",
    ),
    ("add_simple", "Average days delinquent (simple)", "DSO (simple) - best possible DSO (simple)."),
    (
        "dso_countback",
        "DSO (countback)",
        "Ending receivables taken off month by month of credit sales, counting the months' days.",
    ),
    (
        "best_dso_countback",
        "Best possible DSO (countback)",
        "The countback DSO with only the receivables not yet due.",
    ),
    (
        "add_countback",
        "Average days delinquent (countback)",
        "DSO (countback) - best possible DSO (countback).",
    ),
    (
        "cei",
        "CEI (%)",
        "(Beginning AR + credit sales - ending AR) / (beginning AR + credit sales - ending current AR) "
        "x 100.",
    ),
    (
        "promise_kept_rate",
        "Promise kept rate (%)",
        "Promises paid in full by their date / promises that came to their date in the period.",
    ),
    (
        "sent_to_legal",
        "Sent to legal",
        "Collections whose legal action an administrator approved in the period.",
    ),
    ("aging_current", "Not due", "Open receivables on the last day of the period, not yet due."),
    ("aging_1_30", "1-30 days late", "Open receivables 1 to 30 days past due."),
    ("aging_31_60", "31-60 days late", "Open receivables 31 to 60 days past due."),
    ("aging_61_90", "61-90 days late", "Open receivables 61 to 90 days past due."),
    ("aging_over_90", "Over 90 days late", "Open receivables more than 90 days past due."),
]
KPI_LABELS = {name: label for name, label, _definition in KPI_DEFINITIONS}
KPI_HELP = {name: definition for name, _label, definition in KPI_DEFINITIONS}
COUNT_KPIS = {"sent_to_legal"}
MONETARY_KPIS = {
    "cash_collected",
    "aging_current",
    "aging_1_30",
    "aging_31_60",
    "aging_61_90",
    "aging_over_90",
}


# The KPI screen's charts: a year of months from the KPI trends.
TREND_CHART_KPIS = ("cash_collected", "dso_countback", "cei")
TREND_CHART_MONTHS = 12
TREND_BAR_HEIGHT = 100  # px of the tallest bar


def kpi_field(name):
    """The field of the KPI ``name``, labelled and defined as in KPI_DEFINITIONS."""
    label = KPI_LABELS[name]
    if name in MONETARY_KPIS:
        return fields.Monetary(label, compute="_compute_kpis", help=KPI_HELP[name])
    if name in COUNT_KPIS:
        return fields.Integer(label, compute="_compute_kpis", help=KPI_HELP[name])
    return fields.Float(label, compute="_compute_kpis", digits=(16, 1), help=KPI_HELP[name])


# The KPI screen is a back-office screen, not a wizard: transient only so
# that the periods people look at are not kept.
class CollectionDashboard(models.TransientModel):  # pylint: disable=no-wizard-in-models
    """The collections KPIs of a company on a period the user picks."""

    _name = "collection.dashboard"
    _description = "Collections KPIs"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date_to = fields.Date(string="To", required=True, default=lambda self: self._company_today())
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: self._company_today() - relativedelta(days=89),
        help="The default period is the last 90 days.",
    )

    cash_collected = kpi_field("cash_collected")
    recovery_rate = kpi_field("recovery_rate")
    recovery_rate_count = kpi_field("recovery_rate_count")
    median_days_to_collect = kpi_field("median_days_to_collect")
    dso_simple = kpi_field("dso_simple")
    best_dso_simple = kpi_field("best_dso_simple")
    add_simple = kpi_field("add_simple")
    dso_countback = kpi_field("dso_countback")
    best_dso_countback = kpi_field("best_dso_countback")
    add_countback = kpi_field("add_countback")
    cei = kpi_field("cei")
    promise_kept_rate = kpi_field("promise_kept_rate")
    sent_to_legal = kpi_field("sent_to_legal")
    aging_current = kpi_field("aging_current")
    aging_1_30 = kpi_field("aging_1_30")
    aging_31_60 = kpi_field("aging_31_60")
    aging_61_90 = kpi_field("aging_61_90")
    aging_over_90 = kpi_field("aging_over_90")

    kpi_table = fields.Html(string="KPIs", compute="_compute_kpis", sanitize=False)
    stage_table = fields.Html(
        string="Stage effectiveness",
        compute="_compute_kpis",
        sanitize=False,
        help="For each stage that first ran in the period: the collections that reached it, those paid "
        "before the next stage ran (within 14 days for a last stage), and the cash collected after it.",
    )

    trend_charts = fields.Html(
        string="Trends",
        compute="_compute_trend_charts",
        sanitize=False,
        help="Cash collected, DSO and CEI of each month of the year up to the period's end, from the KPI "
        "trends updated every night.",
    )

    def _company_today(self):
        """The KPIs count collection days on the company's calendar."""
        return (self.company_id or self.env.company)._get_collection_today()

    def _compute_display_name(self):
        for dashboard in self:
            dashboard.display_name = self.env._("Collections KPIs")

    @api.depends("company_id", "date_from", "date_to")
    def _compute_kpis(self):
        Kpi = self.env["collection.kpi"]
        for dashboard in self:
            if not (dashboard.date_from and dashboard.date_to) or dashboard.date_from > dashboard.date_to:
                values = dict.fromkeys(KPI_HELP, 0.0)
                values.update(stage_effectiveness={}, cash_collected_by_stage={})
            else:
                values = Kpi._get_kpis(dashboard.company_id, dashboard.date_from, dashboard.date_to)
            for name, _label, _help in KPI_DEFINITIONS:
                dashboard[name] = values[name]
            dashboard.kpi_table = dashboard._render_kpi_table(values)
            dashboard.stage_table = dashboard._render_stage_table(
                values["stage_effectiveness"], values["cash_collected_by_stage"]
            )

    @api.depends("company_id", "date_to")
    def _compute_trend_charts(self):
        for dashboard in self:
            periods = self.env["collection.kpi.period"].search(
                [
                    ("company_id", "=", dashboard.company_id.id),
                    ("period_type", "=", "month"),
                    ("date_from", "<=", dashboard.date_to or dashboard._company_today()),
                ],
                order="date_from desc",
                limit=TREND_CHART_MONTHS,
            )[::-1]
            dashboard.trend_charts = self.env["ir.qweb"]._render(
                "collections_automation.collection_kpi_trend_charts",
                {"charts": [dashboard._prepare_trend_chart(periods, name) for name in TREND_CHART_KPIS]},
            )

    def _prepare_trend_chart(self, periods, name):
        """One bar per month, its height against the year's largest value."""
        self.ensure_one()
        values = periods.mapped(name)
        top = max(values, default=0.0)
        return {
            "name": name,
            "title": self._fields[name].get_description(self.env)["string"],
            "bars": [
                {
                    "label": format_date(self.env, period.date_from, date_format="MMM yy"),
                    "value": self._format_kpi(name, value),
                    "height": round(max(value, 0.0) / top * TREND_BAR_HEIGHT, 1) if top > 0 else 0.0,
                }
                for period, value in zip(periods, values, strict=True)
            ],
        }

    def _render_kpi_table(self, values):
        """Each KPI with its value and its one-line definition."""
        self.ensure_one()
        kpis = []
        for name, _label, _help in KPI_DEFINITIONS:
            description = self._fields[name].get_description(self.env)
            kpis.append(
                {
                    "name": name,
                    "label": description["string"],
                    "value": self._format_kpi(name, values[name]),
                    "help": description["help"],
                }
            )
        return self.env["ir.qweb"]._render("collections_automation.collection_kpi_table", {"kpis": kpis})

    def _format_kpi(self, name, value):
        """``value`` as the user reads numbers (French: "22,4" beside "1 230,00 €")."""
        if name in MONETARY_KPIS:
            return self.currency_id.format(value)
        if name in COUNT_KPIS:
            return formatLang(self.env, int(value), digits=0)
        return formatLang(self.env, value, digits=1)

    def _render_stage_table(self, effectiveness, cash_by_stage):
        """One row per stage that ran in the period, in the order of the
        processes and their ladders."""
        self.ensure_one()
        cash = {}
        for (_process_id, stage_id), amount in cash_by_stage.items():
            cash[stage_id] = cash.get(stage_id, 0.0) + amount
        stages = (
            self.env["collection.stage"]
            .browse(effectiveness)
            .sorted(lambda stage: (stage.process_id.sequence, stage.process_id.id, stage.sequence, stage.id))
        )
        rows = []
        for stage in stages:
            reached, paid = effectiveness[stage.id]
            rows.append(
                {
                    "stage_id": stage.id,
                    "process": stage.process_id.name,
                    "stage": stage.name,
                    "reached": reached,
                    "paid": paid,
                    "effectiveness": self._format_kpi(
                        "effectiveness", paid / reached * 100 if reached else 0.0
                    ),
                    "cash": self.currency_id.format(cash.get(stage.id, 0.0)),
                }
            )
        return self.env["ir.qweb"]._render(
            "collections_automation.collection_stage_kpi_table",
            {"rows": rows, "totals": self._get_stage_table_totals(stages, cash)},
        )

    def _get_stage_table_totals(self, stages, cash):
        """The lines under the stage table that make its cash column add up
        to the cash collected: what was paid before any stage ran, and
        after stages that first ran before the period; then the total."""
        shown = sum(cash.get(stage.id, 0.0) for stage in stages)
        before_any = cash.get(None, 0.0)
        earlier = sum(cash.values()) - shown - before_any
        lines = [
            (self.env._("Paid before any stage ran"), before_any),
            (self.env._("Paid after stages that first ran before the period"), earlier),
        ]
        totals = [
            (label, self.currency_id.format(amount))
            for label, amount in lines
            if not self.currency_id.is_zero(amount)
        ]
        if totals:
            totals.append((self.env._("Cash collected"), self.currency_id.format(sum(cash.values()))))
        return totals
