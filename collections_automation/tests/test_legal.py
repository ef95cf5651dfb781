from io import BytesIO

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools.pdf import PdfFileReader

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestLegalEscalation(CollectionsCommon):
    """A process that escalates to legal action: an administrator approves
    it, then the demand letter and the evidence pack are attached."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls._enable_currency("EUR")
        cls.business = cls.env["res.partner"].create(
            {
                "name": "Mauvais Payeur SARL",
                "is_company": True,
                "email": "compta@mauvais-payeur.example.com",
                "country_id": cls.env.ref("base.fr").id,
            }
        )
        cls.rule = cls.env["collection.late.charge.rule"].create({"name": "France", "preset": "fr"})
        cls.process = cls.env["collection.process"].create(
            {
                "name": "To legal",
                "user_id": cls.collections_manager.id,
                "late_charge_rule_id": cls.rule.id,
                "escalation_delay_days": 0,
                "escalation_legal": True,
                "legal_deadline_days": 8,
                "stage_ids": [
                    fields.Command.create({**cls._prepare_reminder_stage_values(), "delay_days": 30})
                ],
            }
        )

    def setUp(self):
        super().setUp()
        self.invoice = self._create_invoice(amount=10000, partner=self.business, currency_id=self.eur.id)
        with self._at(DAY_0):
            self.enrollment = self.invoice.collection_enroll(process_id=self.process.id)

    def _escalate(self):
        self._run_engine(days(30))
        self.assertEqual(self.enrollment.state, "escalated")

    def _approval_activities(self):
        approval = self.env.ref("collections_automation.mail_activity_type_legal_approval")
        return self.enrollment.activity_ids.filtered(lambda activity: activity.activity_type_id == approval)

    def _approve(self):
        with self._at(days(30)):
            self.enrollment.with_user(self.collections_manager).action_approve_legal()

    def test_the_escalation_asks_the_administrators_to_approve(self):
        self._escalate()
        self.assertEqual(self.enrollment.legal_state, "to_approve")
        activities = self._approval_activities()
        self.assertIn(self.collections_manager, activities.user_id)
        self.assertNotIn(self.collections_user, activities.user_id, "only administrators approve")
        self.assertIn("10,000.00", activities[:1].summary)
        self.assertTrue(self.enrollment.event_ids.filtered(lambda e: e.action == "legal_request"))
        with self.assertRaises(AccessError):
            self.enrollment.with_user(self.collections_user).action_approve_legal()
        with self.assertRaises(AccessError):
            self.enrollment.with_user(self.collections_user).action_refuse_legal()
        # The engine runs again: nothing more is asked.
        self._run_engine(days(31))
        self.assertEqual(self._approval_activities(), activities)

    def test_approved_the_letter_and_the_evidence_pack_are_attached(self):
        self._escalate()
        self._approve()
        self.assertEqual((self.enrollment.legal_state, self.enrollment.legal_sent_on), ("sent", days(30)))
        self.assertFalse(self._approval_activities(), "one decision closes every administrator's activity")
        attachments = self.env["ir.attachment"].search(
            [("res_model", "=", "collection.enrollment"), ("res_id", "=", self.enrollment.id)]
        )
        names = sorted(attachments.mapped("name"))
        self.assertEqual(len(names), 2)
        self.assertTrue(names[0].endswith("-demand-letter.pdf") and names[1].endswith("-evidence-pack.pdf"))
        for attachment in attachments:
            self.assertTrue(attachment.raw.startswith(b"%PDF"), attachment.name)
        pack = attachments.filtered(lambda a: a.name.endswith("-evidence-pack.pdf"))
        pages = len(PdfFileReader(BytesIO(pack.raw)).pages)
        self.assertGreaterEqual(pages, 2, "the evidence report, then the invoice")
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "legal")
        self.assertEqual((event.key, event.amount), (f"{self.enrollment.id}:legal", 10000.0))
        kpis = self.env["collection.kpi"]._get_kpis(self.env.company, DAY_0, days(40))
        self.assertEqual(kpis["sent_to_legal"], 1)
        with self.assertRaisesRegex(UserError, "waiting for approval"):
            self._approve()

    def test_refused_with_a_reason(self):
        self._escalate()
        action = self.enrollment.with_user(self.collections_manager).action_refuse_legal()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.collections_manager)
            .with_context(**action["context"])
        )
        wizard.reason = "A payment plan was agreed"
        wizard.save().action_refuse()
        self.assertEqual(self.enrollment.legal_state, "refused")
        refused = self.enrollment.event_ids.filtered(lambda e: e.action == "legal_refused")
        self.assertIn("A payment plan was agreed", refused.message)
        self.assertFalse(self._approval_activities())

    def test_the_demand_letter_of_the_customers_country(self):
        self._escalate()
        Report = self.env["ir.actions.report"]
        expected = {
            "fr": "Mise en demeure",
            "de": "Letzte Mahnung",
            "uk": "Letter before action",
            "be": "Final demand",
        }
        for country, title in expected.items():
            self.business.country_id = self.env.ref(f"base.{country}")
            html, _type = Report._render_qweb_html(
                "collections_automation.collection_demand_letter_report", self.enrollment.ids
            )
            with self.subTest(country=country):
                self.assertIn(title, str(html))
        with self._at(days(30)):
            claim = self.env["collection.legal.action"]._prepare_claim(self.enrollment)
        # 30 days at 2.15% + 10 on 10,000: 99.86; EUR 40; due in 8 days.
        self.assertEqual(
            (claim["interest"], claim["compensation"], claim["total"], claim["deadline"]),
            (99.86, 40.0, 10139.86, days(38)),
        )

    def test_the_evidence_pack_has_every_section(self):
        self._escalate()
        with self._at(days(31)):
            self.enrollment.action_promise_to_pay(days(35), 10000.0)
        self._pay(self.invoice, amount=2000.0, day=days(33))
        with self._at(days(34)):
            self.enrollment.action_dispute("other", "The last delivery was incomplete.")
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "collections_automation.collection_evidence_pack_report", self.enrollment.ids
        )
        page = str(html)
        for section in (
            "Summary",
            "Contacts made",
            "Promises and disputes",
            "Payments received",
            "Interest, day by day",
            "Invoices",
        ):
            self.assertIn(section, page)
        reminder = self._reminders(self.enrollment)
        self.assertIn(reminder.subject, page, "the email sent, with its subject")
        self.assertIn("The last delivery was incomplete.", page)
        self.assertIn("2,000.00", page)
        self.assertIn("12.15%", page, "the rate of each period")
        self.assertIn(self.invoice.name, page)

    def test_the_evidence_pack_lists_the_payments_of_a_paid_invoice(self):
        self._escalate()
        payment = self._pay(self.invoice, amount=10000.0, day=days(33))
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "collections_automation.collection_evidence_pack_report", self.enrollment.ids
        )
        self.assertIn(payment.move_id.name, str(html))
