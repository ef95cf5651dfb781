from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import file_open, format_date
from odoo.tools.translate import PoFileReader

from .common import ADDON, DAY_0, TRANSLATED_LANGUAGES, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestEmailTranslations(CollectionsCommon):
    """Every shipped email reaches a customer in their own language: its
    subject and body, rendered for a customer who reads it, keep none of
    the English template's own words."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_translations([ADDON])
        cls.templates = cls._addon_records("mail.template")

    def _enrollment_for(self, language):
        return self._promised_enrollment(self.customer.copy({"name": "Dupont SA", "lang": language}))

    def test_every_shipped_email_is_translated_for_the_customers_language(self):
        for language in TRANSLATED_LANGUAGES:
            enrollment = self._enrollment_for(language)
            for template in self.templates:
                english = template.with_context(lang="en_US")
                with self.subTest(language=language, template=english.name):
                    values = template._generate_template(enrollment.ids, ["subject", "body_html"])[
                        enrollment.id
                    ]
                    for field in ("subject", "body_html"):
                        left = {
                            sentence
                            for sentence in self._template_sentences(english[field])
                            if sentence in values[field]
                        }
                        self.assertFalse(left, f"untranslated in the {language} {field}: {left}")
                    self.assertIn(enrollment.move_id.name, values["subject"] + values["body_html"])


@tagged("post_install", "-at_install")
class TestPaymentPageTranslations(CollectionsCommon, HttpCase):
    """A customer who opens the emailed link reads the payment page in their
    own language, the one of the email: in French, German, Spanish or
    Dutch, none of the page template's own English sentences is left."""

    PAGE_VIEW = f"{ADDON}.portal_collection_request"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_translations([ADDON])
        cls.invoice = cls._create_invoice(amount=1234.0)
        cls.enrollment = cls.invoice.collection_enroll(process_id=cls.standard_process.id)

    def _page_sentences(self):
        """The page template's terms of two words or more, from the
        module's translation template."""
        with file_open(f"{ADDON}/i18n/{ADDON}.pot", "rb") as file:
            return {
                row["src"]
                for row in PoFileReader(file)
                if row["type"] == "model_terms"
                and f"{row['module']}.{row['imd_name']}" == self.PAGE_VIEW
                and "<" not in row["src"]
                and len(row["src"].split()) > 1
            }

    def _page_for(self, language):
        self.customer.lang = language
        # A browser that asks for English, as any might.
        return self.url_open(self.enrollment.get_portal_url(), headers={"Accept-Language": "en-US"}).text

    def test_the_payment_page_speaks_the_customers_language(self):
        sentences = self._page_sentences()
        shown = {sentence for sentence in sentences if sentence in self._page_for("en_US")}
        self.assertGreater(len(shown), 5, "the English page shows the template's sentences")
        for language in TRANSLATED_LANGUAGES:
            with self.subTest(language=language):
                page = self._page_for(language)
                left = {sentence for sentence in shown if sentence in page}
                self.assertFalse(left, f"untranslated on the {language} page: {left}")

    def test_a_logged_in_portal_user_reads_it_in_their_own_language(self):
        self.customer.lang = "fr_FR"
        clerk = self.env["res.partner"].create(
            {"name": "AP clerk", "parent_id": self.customer.id, "email": "clerk@slowpayer.example.com"}
        )
        new_test_user(
            self.env,
            login="clerk_portal",
            password="clerk_portal",
            groups="base.group_portal",
            partner_id=clerk.id,
            lang="de_DE",
        )
        self.authenticate("clerk_portal", "clerk_portal")
        page = self.url_open(self.enrollment.access_url).text
        self.assertIn("Zahlungszusage", page)
        self.assertNotIn("Promesse de paiement", page)


@tagged("post_install", "-at_install")
class TestDeskTranslations(CollectionsCommon):
    """A French company's desk reads French: what the engine and the
    customer's page write for it (events, pause reasons, the dispute's
    activity, tracked changes) is in the company's language, whatever the
    scheduled action's user or the customer reads."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_translations([ADDON], languages=("fr_FR",))
        cls.env.company.partner_id.lang = "fr_FR"
        cls.collections_manager.lang = "fr_FR"
        cls.env.company.collection_default_process_id = cls.standard_process
        cls.standard_process.write({"auto_enroll_overdue": True, "grace_days": 1})
        cls.invoice = cls._create_invoice(amount=1234.0, due_date=DAY_0)

    def test_the_engine_writes_the_desk_texts_in_the_companys_language(self):
        self.assertIn(self.env.lang, (None, "en_US"), "the engine runs as an English user")
        self._run_engine(days(3))
        collection = self.invoice.collection_enrollment_id
        enrolled = collection.event_ids.filtered(lambda event: event.action == "enrolled")
        self.assertEqual(enrolled.message, "Mis en recouvrement dans Standard")

    def test_the_customers_dispute_reaches_the_desk_in_its_language(self):
        self._run_engine(days(3))
        collection = self.invoice.collection_enrollment_id
        # The customer reads English; the page acts in their language.
        collection.with_context(lang="en_US").action_dispute("wrong_amount", "You billed twice.")
        self.env.cr.precommit.run()
        paused = collection.event_ids.filtered(lambda event: event.action == "dispute")
        self.assertEqual(paused.message, "Le montant est erroné")
        activity = collection.activity_ids
        self.assertEqual(activity.summary, "Litige : Le montant est erroné")
        tracked = collection.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "state"
        )
        self.assertIn("En pause", tracked.mapped("new_value_char"))

    def test_a_broken_promise_is_told_in_french_with_a_french_date(self):
        self._run_engine(days(3))
        collection = self.invoice.collection_enrollment_id
        with self._at(days(3)):
            collection.with_context(lang="en_US").action_promise_to_pay(days(5), 1234.0)
        self._run_engine(days(6))
        broken = collection.event_ids.filtered(lambda event: event.action == "promise_broken")
        self.assertIn(format_date(self.env(context={"lang": "fr_FR"}), days(5)), broken.message)
        self.assertNotIn("was not kept", broken.message)

    def test_a_hold_the_engine_applies_is_told_in_french(self):
        self._run_engine(days(3))
        collection = self.invoice.collection_enrollment_id
        self.customer.collection_hold = True
        self._run_engine(days(4))
        paused = collection.event_ids.filtered(lambda event: event.action == "paused")
        self.assertEqual(paused.message, "Client bloqué ou facture exclue des relances")
