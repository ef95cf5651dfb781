from datetime import timedelta

from odoo.tests import tagged

from .common import ADDON, DAY_0, CollectionsCommon

# The languages the core's translation is complete in; the others of
# TRANSLATED_LANGUAGES join as their .po files are written.
CORE_LANGUAGES = ("fr_FR",)


@tagged("post_install", "-at_install")
class TestEmailTranslations(CollectionsCommon):
    """Every shipped email reaches a customer in their own language: its
    subject and body, rendered for a customer who reads it, keep none of
    the English template's own words."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_translations([ADDON], CORE_LANGUAGES)
        cls.templates = cls._addon_records("mail.template")

    def _enrollment_for(self, language):
        customer = self.customer.copy({"name": "Dupont SA", "lang": language})
        invoice = self._create_invoice(amount=1234.0, partner=customer)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_promise_to_pay(DAY_0 + timedelta(days=5), 1234.0)
        return enrollment

    def test_every_shipped_email_is_translated_for_the_customers_language(self):
        for language in CORE_LANGUAGES:
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
