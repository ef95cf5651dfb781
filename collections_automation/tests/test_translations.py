from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import file_open
from odoo.tools.translate import PoFileReader

from .common import ADDON, TRANSLATED_LANGUAGES, CollectionsCommon


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
