import json
from datetime import datetime, time

from odoo.addons.collections_automation.tests.common import DAY_0, ChromiumCase, CollectionsCommon, days
from odoo.fields import Domain
from odoo.tests import new_test_user, tagged

BRIDGE = "collections_automation_spreadsheet"
FIELD_TYPES = {"date": ("date",), "datetime": ("datetime",), "many2one": ("many2one",)}


def _figures(data):
    return [figure for sheet in data["sheets"] for figure in sheet["figures"] if figure["tag"] == "chart"]


class DashboardCommon(CollectionsCommon):
    """A month of collections: three invoices on the standard process
    (reminder on day 3, call on day 10), the first paid on day 5, a promise
    and a dispute on the others, and the KPI trends computed on day 15."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dashboard = cls.env.ref(f"{BRIDGE}.dashboard_collections")
        cls.data = json.loads(cls.dashboard.spreadsheet_data)
        invoices = [cls._create_invoice(amount=amount) for amount in (1000.0, 500.0, 300.0)]
        cls.first, cls.second, cls.third = invoices

    def _walk_a_month(self):
        with self._at(DAY_0):
            enrollments = (self.first | self.second | self.third).collection_enroll(
                process_id=self.standard_process.id
            )
        for day in range(16):
            with self._at(days(day)):
                if day == 5:
                    self._pay(self.first, day=days(5))
                if day == 6:
                    enrollments[1].action_promise_to_pay(days(12), 500.0)
                    enrollments[2].action_dispute("quality", "Broken on arrival")
            self._run_engine(days(day))
        with self._at(days(15)):
            self.env["collection.kpi.period"]._refresh(self.env.company)
        return enrollments


@tagged("post_install", "-at_install")
class TestCollectionsDashboard(DashboardCommon):
    def test_the_dashboard_is_in_the_finance_group_for_collections_users(self):
        self.assertEqual(
            self.dashboard.dashboard_group_id,
            self.env.ref("spreadsheet_dashboard.spreadsheet_dashboard_group_finance"),
        )
        Dashboard = self.env["spreadsheet.dashboard"]
        self.assertIn(self.dashboard, Dashboard.with_user(self.collections_user).search([]))
        outsider = new_test_user(self.env, login="dashboard_outsider", groups="base.group_user")
        self.assertNotIn(self.dashboard, Dashboard.with_user(outsider).search([]))

    def test_every_chart_and_pivot_reads_existing_fields(self):
        """What the spreadsheet asks the server for, checked against the
        models: a renamed field fails here, not on the user's screen."""
        filters = {global_filter["id"]: global_filter for global_filter in self.data["globalFilters"]}
        sources = [figure["data"] for figure in _figures(self.data) if "metaData" in figure["data"]]
        self.assertEqual(len(sources), 8)
        queries = [
            (data["metaData"]["resModel"], data["searchParams"]["domain"], data["metaData"]["groupBy"],
             [data["metaData"]["measure"]], data["fieldMatching"])
            for data in sources
        ] + [
            (pivot["model"], pivot["domain"], [f"{row['fieldName']}:{row.get('granularity', '')}".rstrip(":")
                                               for row in pivot["rows"]],
             [measure["fieldName"] for measure in pivot["measures"]], pivot["fieldMatching"])
            for pivot in self.data["pivots"].values()
        ]  # fmt: skip
        for model_name, domain, group_by, measures, matching in queries:
            Model = self.env[model_name]
            Domain(domain).validate(Model)
            for spec in group_by:
                name = spec.split(":")[0]
                self.assertTrue(
                    Model.fields_get([name], ["groupable"])[name]["groupable"],
                    f"{model_name}.{name} cannot be grouped",
                )
            for measure in measures:
                if measure != "__count":
                    self.assertTrue(
                        Model._fields[measure].aggregator, f"{model_name}.{measure} has no aggregator"
                    )
            for filter_id, field_matching in matching.items():
                self.assertIn(filter_id, filters)
                field = Model._fields[field_matching["chain"]]
                self.assertIn(field.type, FIELD_TYPES[field_matching["type"]], f"{model_name}.{field.name}")
                if filters[filter_id]["type"] == "relation":
                    self.assertEqual(field.comodel_name, filters[filter_id]["modelName"])

    def test_the_charts_are_filled_by_a_month_of_collections(self):
        """Each chart's query, as the user's: every one finds something."""
        self._walk_a_month()
        for figure in _figures(self.data):
            chart = figure["data"]
            if "metaData" not in chart:
                continue
            meta = chart["metaData"]
            measure = "__count" if meta["measure"] == "__count" else f"{meta['measure']}:sum"
            groups = (
                self.env[meta["resModel"]]
                .with_user(self.collections_user)
                ._read_group(chart["searchParams"]["domain"], meta["groupBy"], [measure])
            )
            self.assertTrue(
                [group for group in groups if group[-1]], f"{chart['title']['text']}: nothing to show"
            )

    def test_the_scorecards_read_the_data_sheet(self):
        data_sheet = next(sheet for sheet in self.data["sheets"] if sheet["name"] == "Data")
        scorecards = [
            figure["data"] for figure in _figures(self.data) if figure["data"]["type"] == "scorecard"
        ]
        self.assertEqual(
            [card["title"]["text"] for card in scorecards],
            ["Cash collected", "Outstanding in collections", "Open collections"],
        )
        for card in scorecards:
            cell = card["keyValue"].removeprefix("Data!")
            self.assertTrue(data_sheet["cells"][cell].startswith("=PIVOT.VALUE("), card["keyValue"])

    def test_the_dashboard_is_served_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.collections_user.lang = "fr_FR"
        served = json.loads(
            self.dashboard.with_user(self.collections_user)._get_serialized_readonly_dashboard()
        )
        self.assertEqual(served["snapshot"]["settings"]["locale"]["code"], "fr_FR")
        self.assertEqual(served["translation_namespace"], BRIDGE)


@tagged("post_install", "-at_install")
class TestCollectionsDashboardTour(DashboardCommon, ChromiumCase):
    @classmethod
    def setUpClass(cls):
        cls._freeze_class_clock(datetime.combine(days(15), time(12)))
        super().setUpClass()

    def test_an_accountant_opens_the_collections_dashboard(self):
        self._walk_a_month()
        self.start_tour("/odoo/dashboards", "collections_dashboard_tour", login="collections_user")
