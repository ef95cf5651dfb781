from datetime import timedelta

from odoo.tests import tagged

from .common import ADDON, DAY_0, CollectionsCommon, load_migration

REMINDER_DAY = DAY_0 + timedelta(days=3)
LIGHT_LAYOUT = "mail.mail_notification_light"


@tagged("post_install", "-at_install")
class TestEmailLayout(CollectionsCommon):
    """Reminders go out in the company's notification layout, as Odoo's
    ``mail.template.send_mail`` wraps a template's body, while the layout is
    rendered once for the batch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {
                "name": "Acme Receivables",
                "phone": "+32 2 555 00 00",
                "email": "ar@acme.example.com",
                "website": "https://acme.example.com",
                "email_secondary_color": "#112233",
            }
        )
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.template = cls.env.ref(f"{ADDON}.mail_template_overdue")
        cls.others = cls.env["res.partner"].create(
            [
                {"name": "Third & <Co>", "email": "third@example.com", "lang": "fr_FR"},
                {"name": "Fourth Ltd", "email": "fourth@example.com"},
            ]
        )

    def _remind(self, partners):
        invoices = self.env["account.move"].concat(
            *(
                self._create_invoice(amount=100 + index, partner=partner)
                for index, partner in enumerate(partners)
            )
        )
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(REMINDER_DAY)
        return enrollments

    def _mail_of(self, enrollment):
        message = self._reminders(enrollment)
        self.assertEqual(len(message), 1)
        return message, self.env["mail.mail"].search([("mail_message_id", "=", message.id)])

    def _odoo_wrapping(self, enrollment, lang):
        """What Odoo's send_mail makes of the template's body for this
        collection: rendered by Odoo alone, then wrapped."""
        with self._at(REMINDER_DAY):
            body = self.template._generate_template(enrollment.ids, ("body_html",))[enrollment.id][
                "body_html"
            ]
        Action = self.env["collection.stage.action.email"]
        return self.template.with_context(lang=lang)._render_encapsulate(
            self.template.email_layout_xmlid,
            body,
            add_context=Action._prepare_layout_context(lang, enrollment.company_id),
            context_record=enrollment.with_context(lang=lang),
        )

    def test_the_shipped_templates_use_the_light_layout(self):
        templates = self.env["mail.template"].browse(
            self.env["ir.model.data"]
            .search([("module", "=", ADDON), ("model", "=", "mail.template")])
            .mapped("res_id")
        )
        self.assertEqual(len(templates), 8)
        self.assertEqual(set(templates.mapped("email_layout_xmlid")), {LIGHT_LAYOUT})

    def test_the_upgrade_gives_the_layout_to_templates_without_one(self):
        migration = load_migration("19.0.1.2.0", "post-migrate")
        final_notice = self.env.ref(f"{ADDON}.mail_template_final_notice")
        self.template.email_layout_xmlid = False
        final_notice.email_layout_xmlid = "mail.mail_notification_layout"
        self.env.flush_all()
        migration.migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual(self.template.email_layout_xmlid, LIGHT_LAYOUT)
        self.assertEqual(final_notice.email_layout_xmlid, "mail.mail_notification_layout", "kept")

    def test_reminders_come_wrapped_as_odoo_wraps_them_in_each_language(self):
        partners = [self.customer, self.customer, self.others[0], self.others[1], self.others[0]]
        enrollments = self._remind(partners)
        for enrollment in enrollments:
            message, mail = self._mail_of(enrollment)
            lang = enrollment.partner_id.lang or "en_US"
            self.assertEqual(str(mail.body_html), str(self._odoo_wrapping(enrollment, lang)))
            self.assertIn(enrollment.move_id.name, str(mail.body_html))
            self.assertIn("Acme Receivables", str(mail.body_html))
            self.assertIn("+32 2 555 00 00", str(mail.body_html))
            self.assertIn("#112233", str(mail.body_html))
            self.assertIn(enrollment.name.replace("/", "-"), str(mail.body_html))
            self.assertNotIn("Acme Receivables</b>", str(message.body), "the chatter keeps the bare body")
        # Each email names its own collection, none another one's.
        first, second = (self._mail_of(enrollment)[1] for enrollment in enrollments[:2])
        self.assertNotIn(enrollments[1].name.replace("/", "-"), str(first.body_html))
        self.assertNotIn(enrollments[0].name.replace("/", "-"), str(second.body_html))

    def test_a_template_without_layout_sends_its_bare_body(self):
        self.template.email_layout_xmlid = False
        [enrollment] = self._remind([self.customer])
        _message, mail = self._mail_of(enrollment)
        with self._at(REMINDER_DAY):
            body = self.template._generate_template(enrollment.ids, ("body_html",))[enrollment.id][
                "body_html"
            ]
        self.assertEqual(str(mail.body_html), str(body))

    def test_a_layout_that_reads_the_record_is_rendered_for_each_email(self):
        self.env["ir.ui.view"].create(
            {
                "name": "Layout naming the customer",
                "type": "qweb",
                "key": "collections_automation.test_layout_with_customer",
                "arch": """<t t-name="collections_automation.test_layout_with_customer">
                    <div>Dear <t t-out="record.partner_id.name"/></div><t t-out="message.body"/>
                </t>""",
            }
        )
        self.template.email_layout_xmlid = "collections_automation.test_layout_with_customer"
        enrollments = self._remind([self.customer, self.others[1], self.customer])
        for enrollment in enrollments:
            _message, mail = self._mail_of(enrollment)
            self.assertIn(f"Dear {enrollment.partner_id.name}", str(mail.body_html))
            self.assertEqual(str(mail.body_html), str(self._odoo_wrapping(enrollment, "en_US")))
        self.assertNotIn("Fourth Ltd", str(self._mail_of(enrollments[0])[1].body_html))

    def test_the_layout_costs_the_batch_not_each_email(self):
        def run(count):
            partners = [self.customer, self.others[1]] * (count // 2)
            invoices = self.env["account.move"].concat(
                *(self._create_invoice(amount=100 + i, partner=p) for i, p in enumerate(partners))
            )
            with self._at(DAY_0):
                invoices.collection_enroll(process_id=self.standard_process.id)
            self.env.flush_all()
            self.env.invalidate_all()
            with self._at(REMINDER_DAY):
                engine = self.env["collection.engine"]
                queries_before = self.env.cr.sql_log_count
                engine._cron_run()
                self.env.flush_all()
                return self.env.cr.sql_log_count - queries_before

        run(4)  # templates, views and the layout loaded once
        ten = run(10)
        with self._spy(type(self.env["mail.template"]), "_render_encapsulate") as renderings:
            thirty = run(30)
        self.assertLess(thirty - ten, 2 * 20, "under two queries per extra reminder, layout included")
        # One language, one company: the layout rendered for no record, the
        # first and the last one, then shared by the thirty emails.
        self.assertEqual(renderings, [LIGHT_LAYOUT] * 3)
