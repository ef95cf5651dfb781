from odoo.addons.collections_automation.tests.common import DAY_0, TEMPLATE_KINDS, CollectionsCommon, days
from odoo.exceptions import ValidationError
from odoo.tests import tagged

BRIDGE = "collections_automation_sms"


@tagged("post_install", "-at_install")
class TestSmsStage(CollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_template = cls.env.ref(f"{BRIDGE}.sms_template_overdue")

    def _walk(self, first, last):
        for offset in range(first, last + 1):
            self._run_engine(days(offset))

    def _texts(self, partner):
        return self.env["sms.sms"].search([("partner_id", "=", partner.id)])

    def test_a_stage_sends_its_sms_once(self):
        self.reminder_stage.write({"send_sms": True, "sms_template_id": self.sms_template.id})
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 10)
        texts = self._texts(self.customer)
        self.assertEqual(len(texts), 1, "one SMS for the stage, however often the engine runs")
        self.assertIn("is overdue", texts.body)
        self.assertIn(enrollment._get_payment_url(), texts.body)
        event = enrollment.event_ids.filtered(lambda e: e.action == "sms")
        self.assertEqual(event.stage_id, self.reminder_stage)
        self.assertTrue(event.mail_message_id, "the SMS is in the collection's chatter")

    def test_the_sms_follows_the_stage_email_and_letter(self):
        names = self.env["collection.engine"]._get_stage_action_names()
        self.assertEqual(names.count("sms"), 1)
        self.assertEqual(names[names.index("letter") + 1], "sms")
        self.assertLess(names.index("email"), names.index("sms"))

    def test_the_stage_shows_and_requires_its_template(self):
        self.reminder_stage.write({"send_sms": True, "sms_template_id": self.sms_template.id})
        self.assertEqual(self.reminder_stage.action_summary, "Email, SMS")
        with self.assertRaisesRegex(ValidationError, "sends an SMS: choose its template"):
            self.reminder_stage.sms_template_id = False
        partner_template = self.sms_template.copy({"model_id": self.env.ref("base.model_res_partner").id})
        with self.assertRaisesRegex(ValidationError, "a stage needs a template for Collection Enrollment"):
            self.reminder_stage.sms_template_id = partner_template

    def test_an_sms_counts_against_the_contact_cap(self):
        self.env.company.write({"collection_contact_max_per_day": 1, "collection_contact_max_per_week": 3})
        self.reminder_stage.write(
            {
                "send_email": False,
                "mail_template_id": False,
                "send_sms": True,
                "sms_template_id": self.sms_template.id,
            }
        )
        self.assertTrue(self.reminder_stage._contacts_customer())
        other_process = self.standard_process.copy({"name": "Other ladder"})
        first, second = self._create_invoice(), self._create_invoice()
        with self._at(DAY_0):
            one = first.collection_enroll(process_id=self.standard_process.id)
            two = second.collection_enroll(process_id=other_process.id)
        self._walk(3, 3)
        self.assertEqual(len(self._texts(self.customer)), 1, "one message a day")
        deferred = (one | two).event_ids.filtered(lambda e: e.action == "deferred")
        self.assertEqual(len(deferred), 1)
        self.assertEqual(deferred.enrollment_id.next_action_date, days(4))

    def test_every_shipped_sms_renders_for_a_customer(self):
        enrollment = self._promised_enrollment()
        invoice = enrollment.move_id
        link = enrollment._get_payment_url()
        data = self.env["ir.model.data"].search([("module", "=", BRIDGE), ("model", "=", "sms.template")])
        templates = self.env["sms.template"].browse(data.mapped("res_id"))
        self.assertEqual({name.removeprefix("sms_template_") for name in data.mapped("name")}, TEMPLATE_KINDS)
        for template in templates:
            with self.subTest(template=template.name):
                body = template._render_field("body", enrollment.ids)[enrollment.id]
                self.assertIn(invoice.name, body)
                self.assertNotIn("False", body)
                if template != self.env.ref(f"{BRIDGE}.sms_template_promise_confirmation"):
                    self.assertIn(link, body)
