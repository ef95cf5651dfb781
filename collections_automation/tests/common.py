from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.tests import new_test_user

ADDON = "collections_automation"


class CollectionsCommon(AccountTestInvoicingCommon):
    """Fixtures shared by the add-on's tests: a company with a chart of
    accounts (from AccountTestInvoicingCommon), an invoicing user, who is a
    collections user through Accounting's groups, and an accounting
    administrator, who is a collections manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.collections_user = new_test_user(
            cls.env,
            login="collections_user",
            password="collections_user",
            groups="account.group_account_invoice",
            company_id=company.id,
            company_ids=company.ids,
        )
        cls.collections_manager = new_test_user(
            cls.env,
            login="collections_manager",
            groups="account.group_account_manager",
            company_id=company.id,
            company_ids=company.ids,
        )

    @classmethod
    def _addon_models(cls):
        """The stored models this add-on defines (not those it only extends)."""
        data = cls.env["ir.model.data"].search([("module", "=", ADDON), ("model", "=", "ir.model")])
        models = cls.env["ir.model"].browse(data.mapped("res_id"))
        return models.filtered(lambda model: not model.transient and cls.env[model.model]._auto)
