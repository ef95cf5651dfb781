from odoo import fields
from odoo.tests import tagged

from .common import DAY_0, CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsAnalysis(CollectionsCommon):
    """The SQL view behind the pivot and graph agrees with the ORM."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.euro = cls.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        cls.invoices = cls._create_invoice(amount=1000.0) | cls._create_invoice(amount=500.0)
        cls.euro_invoice = cls._create_invoice(amount=300.0, currency_id=cls.euro.id)
        cls.invoices |= cls.euro_invoice
        cls.enrollments = cls.invoices.collection_enroll(process_id=cls.standard_process.id, start_date=DAY_0)
        cls.request = cls.env["collection.enrollment"].create_payment_request(
            {
                "partner_id": cls.customer.id,
                "amount": 80.0,
                "currency_id": cls.euro.id,
                "process_id": cls.standard_process.id,
            }
        )

    def _rows(self):
        return self.env["collection.analysis"].search(
            [("enrollment_id", "in", (self.enrollments | self.request).ids)]
        )

    def test_amounts_are_in_the_company_currency(self):
        self._pay(self.invoices[1], amount=200.0)
        rows = {row.enrollment_id: row for row in self._rows()}
        self.assertEqual(len(rows), 4)
        first, second, euro = self.enrollments
        self.assertAlmostEqual(rows[first].amount_enrolled, 1000.0)
        self.assertAlmostEqual(rows[second].amount_collected, 200.0)
        self.assertAlmostEqual(rows[second].amount_outstanding, 300.0)
        self.assertAlmostEqual(
            rows[euro].amount_enrolled, 150.0, msg="300 EUR at 2 EUR per unit of company currency"
        )
        self.assertAlmostEqual(
            rows[self.request].amount_enrolled, 40.0, msg="a standalone request at the latest rate"
        )
        self.assertTrue(rows[self.request].is_standalone)
        self.assertEqual(rows[first].currency_id, self.env.company.currency_id)

    def test_the_view_agrees_with_the_orm(self):
        self._pay(self.invoices[0])
        same_currency = self.enrollments.filtered(lambda e: e.currency_id == self.env.company.currency_id)
        groups = self.env["collection.analysis"]._read_group(
            [("enrollment_id", "in", same_currency.ids)],
            groupby=["state"],
            aggregates=["amount_enrolled:sum", "amount_collected:sum", "amount_outstanding:sum", "__count"],
        )
        by_state = {
            state: (enrolled, collected, outstanding, count)
            for state, enrolled, collected, outstanding, count in groups
        }
        for state in set(same_currency.mapped("state")):
            records = same_currency.filtered(lambda e, s=state: e.state == s)
            enrolled, collected, outstanding, count = by_state[state]
            self.assertEqual(count, len(records))
            self.assertAlmostEqual(enrolled, sum(records.mapped("amount_due_at_enrollment")))
            self.assertAlmostEqual(collected, sum(records.mapped("amount_collected")))
            expected_outstanding = sum(records.mapped("amount_residual")) if state != "paid" else 0.0
            self.assertAlmostEqual(outstanding, expected_outstanding)

    def test_days_to_collect_of_paid_collections(self):
        first = self.enrollments[0]
        self._pay(self.invoices[0])
        first.closed_on = fields.Date.add(DAY_0, days=12)
        row = self._rows().filtered(lambda r: r.enrollment_id == first)
        self.assertEqual(row.days_to_collect, 12.0)
        self.assertFalse(
            self._rows().filtered(lambda r: r.enrollment_id == self.enrollments[1]).days_to_collect
        )

    def test_users_see_the_rows_of_their_companies_only(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.env["collection.enrollment"].create(
            {
                "partner_id": self.customer.id,
                "company_id": other_company.id,
                "process_id": self.env["collection.process"]
                .create(
                    {
                        "name": "Elsewhere",
                        "company_id": other_company.id,
                        "stage_ids": [fields.Command.create({"name": "S", "delay_days": 1})],
                    }
                )
                .id,
                "currency_id": other_company.currency_id.id,
                "amount_due_at_enrollment": 10.0,
            }
        )
        rows = self.env["collection.analysis"].with_user(self.collections_user).search([])
        self.assertTrue(rows)
        self.assertEqual(rows.company_id, self.env.company)
