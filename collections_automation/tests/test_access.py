from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsAccess(CollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.internal_user = new_test_user(cls.env, login="plain_employee", groups="base.group_user")
        cls.process = cls.env["collection.process"].create(
            {
                "name": "Access check",
                "stage_ids": [(0, 0, {"name": "Reminder", "delay_days": 3})],
            }
        )

    def test_groups_follow_accounting_groups(self):
        user_group = self.env.ref("collections_automation.collections_automation_group_user")
        manager_group = self.env.ref("collections_automation.collections_automation_group_manager")
        self.assertIn(user_group, self.collections_user.all_group_ids)
        self.assertNotIn(manager_group, self.collections_user.all_group_ids)
        self.assertIn(manager_group, self.collections_manager.all_group_ids)
        self.assertIn(user_group, self.collections_manager.all_group_ids)
        self.assertNotIn(user_group, self.internal_user.all_group_ids)

    def test_every_model_has_access_rows(self):
        models = self._addon_models()
        self.assertTrue(models, "the add-on defines models")
        access = self.env["ir.model.access"].search([("model_id", "in", models.ids)])
        self.assertEqual(set(access.model_id.ids), set(models.ids))

    def test_user_without_collections_groups_cannot_read(self):
        for model in self._addon_models():
            with self.subTest(model=model.model):
                records = self.env[model.model].with_user(self.internal_user)
                with self.assertRaises(AccessError):
                    records.search([], limit=1)

    def test_collections_user_sees_only_their_company_enrollments(self):
        other_company = self.setup_other_company()["company"]
        foreign_process = self.env["collection.process"].create(
            {"name": "Foreign", "company_id": other_company.id, "stage_ids": [(0, 0, {"name": "Reminder"})]}
        )
        foreign = self.env["collection.enrollment"].create(
            {
                "partner_id": self.customer.id,
                "company_id": other_company.id,
                "process_id": foreign_process.id,
                "currency_id": other_company.currency_id.id,
                "amount_due_at_enrollment": 10.0,
            }
        )
        mine = self._create_invoice().collection_enroll(process_id=self.standard_process.id)
        visible = self.env["collection.enrollment"].with_user(self.collections_user).search([])
        self.assertIn(mine, visible)
        self.assertNotIn(foreign, visible)
        self.assertNotIn(
            foreign.event_ids, self.env["collection.event"].with_user(self.collections_user).search([])
        )

    def test_a_collection_keeps_to_its_company(self):
        """A process or a customer of another company is refused, in a batch
        where the other collections are consistent too."""
        other_company = self.setup_other_company()["company"]
        foreign_process = self.env["collection.process"].create(
            {"name": "Foreign", "company_id": other_company.id, "stage_ids": [(0, 0, {"name": "Reminder"})]}
        )
        foreign_customer = self.env["res.partner"].create({"name": "Foreign", "company_id": other_company.id})

        def values(**overrides):
            invoice = self._create_invoice()
            return {
                "partner_id": self.customer.id,
                "move_id": invoice.id,
                "process_id": self.process.id,
                "currency_id": invoice.currency_id.id,
                "amount_due_at_enrollment": 10.0,
                **overrides,
            }

        Enrollment = self.env["collection.enrollment"]
        for wrong in ({"process_id": foreign_process.id}, {"partner_id": foreign_customer.id}):
            with self.subTest(wrong=wrong), self.assertRaisesRegex(UserError, "company inconsistencies"):
                Enrollment.create([values(), values(**wrong)])
        enrollment = Enrollment.create(values())
        with self.assertRaisesRegex(UserError, "company inconsistencies"):
            enrollment.process_id = foreign_process
        # A customer shared by every company (none of its own) is fine.
        self.assertFalse(self.customer.company_id)
        self.assertEqual(enrollment.partner_id, self.customer)

    def test_collections_user_reads_but_does_not_design(self):
        process = self.process.with_user(self.collections_user)
        self.assertEqual(process.stage_ids.mapped("name"), ["Reminder"])
        with self.assertRaises(AccessError):
            process.write({"name": "Renamed by a user"})
        with self.assertRaises(AccessError):
            self.env["collection.process"].with_user(self.collections_user).create({"name": "Mine"})

    def test_collections_manager_designs_processes(self):
        process = (
            self.env["collection.process"]
            .with_user(self.collections_manager)
            .create({"name": "Manager's process", "stage_ids": [(0, 0, {"name": "Call", "delay_days": 10})]})
        )
        process.stage_ids.write({"delay_days": 12})
        self.assertEqual(process.stage_ids.delay_days, 12)

    def test_other_company_processes_are_hidden(self):
        other_company = self.setup_other_company()["company"]
        foreign = self.env["collection.process"].create(
            {"name": "Foreign", "company_id": other_company.id, "stage_ids": [(0, 0, {"name": "Reminder"})]}
        )
        visible = self.env["collection.process"].with_user(self.collections_manager).search([])
        self.assertIn(self.process, visible)
        self.assertNotIn(foreign, visible)

    def test_late_charge_rules_and_reference_rates_are_the_managers(self):
        other_company = self.setup_other_company()["company"]
        Rule = self.env["collection.late.charge.rule"]
        foreign = Rule.create({"name": "Foreign", "preset": "uk", "company_id": other_company.id})
        rule = Rule.with_user(self.collections_manager).create({"name": "EU", "preset": "eu"})
        Rate = self.env["collection.reference.rate"]
        Rate.with_user(self.collections_manager).create(
            {"source": "boe", "date_from": "2026-02-05", "rate": 3.75}
        )
        self.assertEqual(
            Rule.with_user(self.collections_manager).search([("id", "in", (rule | foreign).ids)]), rule
        )
        self.assertEqual(Rule.with_user(self.collections_user).browse(rule.id).margin, 8.0)
        with self.assertRaises(AccessError):
            rule.with_user(self.collections_user).write({"margin": 0.0})
        with self.assertRaises(AccessError):
            Rate.with_user(self.collections_user).create(
                {"source": "ecb", "date_from": "2026-02-05", "rate": 2.0}
            )
        with self.assertRaises(AccessError):
            Rule.with_user(self.internal_user).search([])

    def test_a_portal_user_sees_nothing_of_the_backend(self):
        portal = new_test_user(
            self.env, login="portal_customer", groups="base.group_portal", partner_id=self.customer.id
        )
        for model in ("collection.analysis", "collection.event", "collection.process", "collection.stage",
                      "collection.segment.rule", "collection.decline.code", "collection.dashboard",
                      "collection.late.charge.rule", "collection.reference.rate",
                      "collection.webhook.event"):  # fmt: skip
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(portal).search([], limit=1)
        enrollment = self._create_invoice().collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(self.env["collection.enrollment"].with_user(portal).search([]), enrollment)
        with self.assertRaises(AccessError):
            enrollment.with_user(portal).write({"state": "paid"})
