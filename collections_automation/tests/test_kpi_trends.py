from datetime import date
from unittest.mock import patch

from lxml import html

from odoo.tests import Form, tagged
from odoo.tools import format_date

from ..models.collection_kpi_period import PERIOD_KPIS, TREND_MONTHS, TREND_WEEKS
from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestKpiTrends(CollectionsCommon):
    """The KPIs kept per month and week for the charts, on three invoices
    of the standard process (reminder on day 3, call 7 days later) from
    Monday 2 March 2026: the first pays in full on day 5, the second 200
    on day 12."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first = cls._create_invoice(amount=1000.0)
        cls.second = cls._create_invoice(amount=500.0)
        cls.third = cls._create_invoice(amount=300.0)

    def setUp(self):
        super().setUp()
        with self._at(DAY_0):
            (self.first | self.second | self.third).collection_enroll(process_id=self.standard_process.id)
        for day in range(16):
            with self._at(days(day)):
                if day == 5:
                    self._pay(self.first, day=days(5))
                if day == 12:
                    self._pay(self.second, amount=200.0, day=days(12))
            self._run_engine(days(day))
        self.Period = self.env["collection.kpi.period"]
        self.company = self.env.company

    def _refresh_on(self, day):
        with self._at(day):
            self.Period._refresh(self.company)
        return self.Period.search([("company_id", "=", self.company.id)])

    def _period(self, period_type, date_from):
        return self.Period.search(
            [
                ("company_id", "=", self.company.id),
                ("period_type", "=", period_type),
                ("date_from", "=", date_from),
            ]
        )

    def test_a_period_holds_the_kpi_screen_figures(self):
        periods = self._refresh_on(days(15))
        self.assertEqual(len(periods), TREND_MONTHS + TREND_WEEKS)
        march = self._period("month", date(2026, 3, 1))
        self.assertEqual((march.date_to, march.computed_to), (date(2026, 3, 31), days(15)))
        kpis = self.env["collection.kpi"]._get_kpis(self.company, date(2026, 3, 1), days(15))
        self.assertEqual(
            {name: march[name] for name in PERIOD_KPIS}, {name: kpis[name] for name in PERIOD_KPIS}
        )
        self.assertEqual(march.cash_collected, 1200.0)
        lines = {
            line.stage_id: (line.stage_name, line.cash_collected, line.reached, line.paid_before_next)
            for line in march.stage_line_ids
        }
        self.assertEqual(
            lines,
            {
                self.reminder_stage: (self.reminder_stage.name, 1000.0, 3, 1),
                self.call_stage: (self.call_stage.name, 200.0, 2, 0),
            },
        )

    def test_weeks_run_monday_to_sunday(self):
        self._refresh_on(days(15))
        first_week = self._period("week", DAY_0)
        self.assertEqual(first_week.date_to, days(6))
        self.assertEqual(first_week.cash_collected, 1000.0, "paid on Saturday 7 March")
        self.assertEqual(self._period("week", days(7)).cash_collected, 200.0)
        self.assertEqual(self._period("week", days(14)).computed_to, days(15), "the week in progress")
        self.assertFalse(self._period("week", days(3)), "a week starts on Monday")

    def test_a_later_refresh_updates_recent_periods_and_keeps_older_ones(self):
        self._refresh_on(days(15))
        march = self._period("month", date(2026, 3, 1))
        # The third customer pays on 20 March; a refresh on 25 March counts it.
        with self._at(days(18)):
            self._pay(self.third, day=days(18))
        oldest_week = min(self.Period.search([("period_type", "=", "week")]).mapped("date_from"))
        periods = self._refresh_on(days(23))
        self.assertEqual(len(periods), TREND_MONTHS + TREND_WEEKS, "a week came, the oldest went, none twice")
        self.assertFalse(self._period("week", oldest_week), "the trends no longer reach it")
        self.assertEqual((march.cash_collected, march.computed_to), (1500.0, days(23)))
        self.assertEqual(len(march.stage_line_ids), 2, "its stage lines replaced, not added")
        # On 10 April, March is counted to its end.
        self._refresh_on(date(2026, 4, 10))
        self.assertEqual(march.computed_to, date(2026, 3, 31))
        # Months later, March is old: a payment back-dated into it does not
        # change what was kept, and the months since are there.
        june = date(2026, 6, 10)
        with self._at(june):
            self._pay(self.second, amount=100.0, day=date(2026, 3, 30))
        self._refresh_on(june)
        self.assertEqual((march.cash_collected, march.computed_to), (1500.0, date(2026, 3, 31)))
        self.assertEqual(self._period("month", date(2026, 5, 1)).computed_to, date(2026, 5, 31))
        self.assertEqual(self._period("month", date(2026, 6, 1)).computed_to, june)

    def test_a_period_counted_before_its_end_is_finished_however_late_the_next_refresh(self):
        self._refresh_on(days(15))
        march = self._period("month", date(2026, 3, 1))
        # No refresh for months (the scheduled action was off): March still
        # gets its last days counted.
        self._refresh_on(date(2026, 6, 10))
        self.assertEqual(march.computed_to, date(2026, 3, 31))

    def test_the_scheduled_action_refreshes_the_companies_that_collect(self):
        idle_company = self.env["res.company"].create({"name": "No Collections Co"})
        cron = self.env.ref("collections_automation.ir_cron_collection_kpi_period")
        with self._at(days(15)):
            cron.ir_actions_server_id.run()
        self.assertEqual(
            self.Period.search_count([("company_id", "=", self.company.id)]), TREND_MONTHS + TREND_WEEKS
        )
        self.assertFalse(self.Period.search_count([("company_id", "=", idle_company.id)]))

    def test_a_company_whose_trends_fail_leaves_the_others_current(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        original = type(self.Period)._refresh_company

        def refresh_company(period_model, company):
            if company == other_company:
                raise ValueError("a figure that cannot be computed")
            return original(period_model, company)

        logger = "odoo.addons.collections_automation.models.collection_kpi_period"
        with (
            patch.object(type(self.Period), "_refresh_company", refresh_company),
            self._at(days(15)),
            self.assertLogs(logger, "ERROR"),
        ):
            self.Period._refresh(other_company | self.company)
        self.assertEqual(
            self.Period.search_count([("company_id", "=", self.company.id)]), TREND_MONTHS + TREND_WEEKS
        )

    def test_a_period_names_its_month_or_week(self):
        self._refresh_on(days(15))
        self.assertEqual(self._period("month", date(2026, 3, 1)).display_name, "March 2026")
        self.assertEqual(self._period("week", DAY_0).display_name, f"Week of {format_date(self.env, DAY_0)}")

    def test_users_see_the_periods_of_their_companies_only(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        with self._at(days(15)):
            self.Period._refresh(self.company | other_company)
        visible = self.Period.with_user(self.collections_user).search([])
        self.assertEqual(visible.company_id, self.company)
        self.assertEqual(visible.stage_line_ids.company_id, self.company)
        lines = self.env["collection.kpi.period.stage"].with_user(self.collections_user).search([])
        self.assertEqual(lines.company_id, self.company)

    def test_the_trends_screen_opens_on_months(self):
        action = self.env.ref("collections_automation.collection_kpi_period_action")
        self.assertEqual(action.view_mode.split(",")[0], "graph")
        self._refresh_on(days(15))
        months = self.Period.with_user(self.collections_user).search([("period_type", "=", "month")])
        groups = months._read_group([("id", "in", months.ids)], ["date_from:month"], ["dso_countback:avg"])
        self.assertEqual(len(groups), TREND_MONTHS)
        self.assertTrue(all(date_from.day == 1 for date_from, _dso in groups))
        self.assertEqual(min(months.mapped("date_from")), date(2025, 4, 1), "a year, March 2026 included")

    def test_the_kpi_screen_charts_a_year_of_months(self):
        screen = Form(self.env["collection.dashboard"].with_user(self.collections_user))
        screen.date_from, screen.date_to = date(2026, 3, 1), days(15)
        self.assertIn("No KPI trends up to this day", str(screen.trend_charts))
        self._refresh_on(days(15))
        screen.date_to = days(14)
        charts = html.fromstring(str(screen.trend_charts))
        [cash] = charts.xpath("//div[contains(@class, 'o_collection_kpi_trend_cash_collected')]")
        bars = cash.xpath(".//rect")
        self.assertEqual(len(bars), 12, "April 2025 to March 2026")
        labels = [bar.xpath("string(title)") for bar in bars]
        self.assertTrue(labels[0].startswith("Apr 25: "), labels[0])
        self.assertTrue(labels[-1].startswith("Mar 26: ") and "1,200.00" in labels[-1], labels[-1])
        heights = [float(bar.get("height")) for bar in bars]
        self.assertEqual(heights, [0.0] * 11 + [100.0], "March's cash is the year's tallest bar")
        self.assertIn("1,200.00", cash.xpath("string(.//div[contains(@class, 'small')])"), "March's figure")
        self.assertEqual(
            len(charts.xpath("//div[contains(@class, 'o_collection_kpi_trend_')]//svg")),
            3,
            "cash, DSO and CEI",
        )
        # A period ending in December charts the year to December.
        screen.date_from, screen.date_to = date(2025, 12, 1), date(2025, 12, 31)
        [cash] = html.fromstring(str(screen.trend_charts)).xpath(
            "//div[contains(@class, 'o_collection_kpi_trend_cash_collected')]"
        )
        self.assertTrue(cash.xpath("string((.//rect)[last()]/title)").startswith("Dec 25: "))
