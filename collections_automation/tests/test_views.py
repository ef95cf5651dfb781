from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import ADDON, TEMPLATE_KINDS, CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsViews(CollectionsCommon):
    def test_every_view_renders(self):
        # QWeb templates (the letter) are rendered by the engine's tests.
        views = self._addon_records("ir.ui.view").filtered(lambda view: view.type != "qweb")
        self.assertTrue(views)
        for view in views:
            with self.subTest(view=view.xml_id):
                # An extension view is rendered through the view it extends.
                root = view
                while root.mode == "extension" and root.inherit_id:
                    root = root.inherit_id
                # Settings are the administrator's.
                user = self.env.ref("base.user_admin") if view.model == "res.config.settings" else None
                result = (
                    self.env[view.model]
                    .with_user(user or self.collections_manager)
                    .get_views([(root.id, root.type)])
                )
                self.assertIn(root.type, result["views"])
                arch = result["views"][root.type]["arch"]
                self.assertTrue(arch)
                if user:
                    self.assertIn("collections_settings", arch)

    def test_wizards_offer_no_record_they_cannot_make(self):
        """Testing the rules picks an invoice: it does not offer to create
        one from the wizard."""
        arch = self.env["collection.rule.test"].get_views([(False, "form")])["views"]["form"]["arch"]
        [move] = etree.fromstring(arch).xpath("//field[@name='move_id']")
        self.assertTrue(safe_eval(move.get("options", "{}")).get("no_create"))

    def test_every_window_action_opens(self):
        actions = self._addon_records("ir.actions.act_window")
        self.assertTrue(actions)
        for action in actions:
            with self.subTest(action=action.xml_id):
                records = self.env[action.res_model].with_user(self.collections_manager)
                views = [(view_id, view_type) for view_id, view_type in action.views]
                views.append((action.search_view_id.id, "search"))
                result = records.get_views(views)
                self.assertEqual(set(result["views"]), {view_type for _id, view_type in views})
                records.search(safe_eval(action.domain or "[]", {"uid": self.env.uid}), limit=1)

    def test_menus_reach_their_users(self):
        root = self.env.ref("collections_automation.collections_menu_root")
        config = self.env.ref("collections_automation.collections_menu_config")
        user_menus = self.env["ir.ui.menu"].with_user(self.collections_user)._visible_menu_ids()
        manager_menus = self.env["ir.ui.menu"].with_user(self.collections_manager)._visible_menu_ids()
        self.assertIn(root.id, user_menus)
        self.assertNotIn(config.id, user_menus)
        self.assertIn(config.id, manager_menus)

    def test_every_shipped_template_renders_for_a_customer(self):
        enrollment = self._promised_enrollment()
        invoice = enrollment.move_id
        link = enrollment._get_payment_url()
        mail_templates = self._addon_records("mail.template")
        shipped = {
            xml_id.split(".")[1].removeprefix("mail_template_")
            for xml_id in mail_templates.get_external_id().values()
        }
        self.assertEqual(shipped, TEMPLATE_KINDS, "one email template per stage kind")
        for template in mail_templates:
            with self.subTest(template=template.name):
                values = template._generate_template(enrollment.ids, ["subject", "body_html"])[enrollment.id]
                body = values["body_html"]
                self.assertTrue(values["subject"])
                self.assertTrue(invoice.name in body or "1,234.00" in body, "says what it is about")
                self.assertNotIn(">False<", body)
                if template != self.env.ref(f"{ADDON}.mail_template_dispute_received"):
                    self.assertIn(link, body)

    def test_group_by_offers_what_a_person_groups_collections_by(self):
        """The search's custom *Group By* lists the groupable fields the views
        describe: the payment page's access token ("Security Token") is not
        one, the customer and the stage are."""
        views = (
            self.env["collection.enrollment"].with_user(self.collections_user).get_views([(False, "list")])
        )
        described = views["models"]["collection.enrollment"]["fields"]
        groupable = {name for name, field in described.items() if field.get("groupable")}
        self.assertNotIn("access_token", groupable)
        self.assertLessEqual({"partner_id", "stage_id", "process_id", "state"}, groupable)
