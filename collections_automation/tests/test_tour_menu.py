from odoo.tests import HttpCase, new_test_user, tagged

from .common import CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsMenuTour(CollectionsCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(
            cls.env,
            login="collections_tour_user",
            password="collections_tour_user",
            groups="account.group_account_invoice",
            company_id=cls.env.company.id,
            company_ids=cls.env.company.ids,
        )
        customer = cls.env["res.partner"].create({"name": "Tour Customer"})
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2020-01-01",
                "invoice_date_due": "2020-01-31",
                "invoice_line_ids": [(0, 0, {"name": "Overdue service", "price_unit": 420.0})],
            }
        )
        invoice.action_post()

    def test_accountant_logs_in_and_opens_collections(self):
        self.start_tour("/web/login", "collections_menu_tour")
