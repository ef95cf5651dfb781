from odoo.addons.collections_automation.tests.common import TRANSLATED_LANGUAGES, CollectionsCommon
from odoo.tests import tagged

BRIDGE = "collections_automation_sms"


@tagged("post_install", "-at_install")
class TestSmsTranslations(CollectionsCommon):
    """Every shipped SMS reaches a customer in their own language: rendered
    for a French, German, Spanish or Dutch customer, none of the English
    template's own words is left."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._load_translations([BRIDGE])
        cls.templates = cls._addon_records("sms.template", BRIDGE)

    def _enrollment_for(self, language):
        return self._promised_enrollment(
            self.customer.copy({"name": f"Customer {language}", "lang": language})
        )

    def test_every_shipped_sms_is_translated_for_the_customers_language(self):
        for language in TRANSLATED_LANGUAGES:
            enrollment = self._enrollment_for(language)
            for template in self.templates:
                with self.subTest(language=language, template=template.with_context(lang="en_US").name):
                    english = template.with_context(lang="en_US").body
                    body = template._render_field("body", enrollment.ids, compute_lang=True)[enrollment.id]
                    self.assertIn(enrollment.move_id.name, body)
                    left = {sentence for sentence in self._template_sentences(english) if sentence in body}
                    self.assertFalse(left, f"untranslated in {language}: {left}")
                    self.assertNotEqual(
                        template.with_context(lang=language).name, template.with_context(lang="en_US").name
                    )
