from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import CollectionsCommon


@tagged("post_install", "-at_install")
class TestSegmentRules(CollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        stage = {"name": "Reminder", "delay_days": 1}
        cls.gentle, cls.strict, cls.fallback = cls.env["collection.process"].create(
            [
                {"name": "Gentle", "stage_ids": [fields.Command.create(stage)]},
                {"name": "Strict", "stage_ids": [fields.Command.create(stage)]},
                {"name": "Fallback", "stage_ids": [fields.Command.create(stage)]},
            ]
        )
        cls.env.company.collection_default_process_id = cls.fallback
        cls.key_tag = cls.env["res.partner.category"].create({"name": "Key account"})
        cls.be = cls.env.ref("base.be")
        cls.key_customer = cls.env["res.partner"].create(
            {
                "name": "Key Customer",
                "category_id": [fields.Command.link(cls.key_tag.id)],
                "country_id": cls.be.id,
            }
        )
        cls.Rule = cls.env["collection.segment.rule"]

    def _process_of(self, invoice):
        return self.Rule._find_process_for_invoices(invoice)[invoice]

    def _create_every_condition_rule(self, **values):
        """Big Belgian key accounts in the company's currency, of normal
        trust, on the second payment terms: every condition set."""
        return self.Rule.create(
            {
                "name": "Big Belgian key accounts in company currency",
                "process_id": self.strict.id,
                "partner_category_ids": self.key_tag.ids,
                "country_ids": self.be.ids,
                "currency_id": self.env.company.currency_id.id,
                "amount_min": 500,
                "amount_max": 5000,
                "partner_trust": "normal",
                "payment_term_ids": self.pay_terms_b.ids,
                **values,
            }
        )

    def test_first_matching_rule_by_priority_wins(self):
        by_tag = self.Rule.create(
            {
                "name": "Key",
                "sequence": 5,
                "process_id": self.gentle.id,
                "partner_category_ids": self.key_tag.ids,
            }
        )
        by_country = self.Rule.create(
            {"name": "Belgium", "sequence": 10, "process_id": self.strict.id, "country_ids": self.be.ids}
        )
        invoice = self._create_invoice(partner=self.key_customer)
        self.assertEqual(self._process_of(invoice), (self.gentle, by_tag))
        by_country.sequence = 1
        self.assertEqual(self._process_of(invoice), (self.strict, by_country))

    def test_unmatched_invoice_gets_company_default(self):
        self.Rule.create(
            {"name": "Key", "process_id": self.gentle.id, "partner_category_ids": self.key_tag.ids}
        )
        invoice = self._create_invoice()
        self.assertEqual(self._process_of(invoice), (self.fallback, self.Rule))

    def test_the_start_wizard_says_which_process_the_rules_pick(self):
        self.Rule.create(
            {"name": "Key", "process_id": self.gentle.id, "partner_category_ids": self.key_tag.ids}
        )
        invoices = self._create_invoice(partner=self.key_customer) | self._create_invoice()
        invoices |= self._create_invoice(partner=self.key_customer)
        wizard = Form(self.env["collection.enroll.wizard"].with_context(default_move_ids=invoices.ids))
        self.assertEqual(
            wizard.rules_note.splitlines(),
            ["Gentle: 2 invoice(s), rule Key", "Fallback: 1 invoice(s), the company's default process"],
        )
        wizard.process_id = self.strict
        self.assertFalse(wizard.rules_note, "a chosen process needs no rule")
        self.env.company.collection_default_process_id = False
        wizard = Form(self.env["collection.enroll.wizard"].with_context(default_move_ids=invoices[1].ids))
        self.assertEqual(
            wizard.rules_note, "1 invoice(s): no rule fits and the company has no default process."
        )

    def test_an_archived_default_process_starts_no_collection(self):
        invoice = self._create_invoice()
        self.fallback.action_archive()
        self.assertFalse(self._process_of(invoice)[0])
        self.assertEqual(
            self.Rule._find_process_for_invoices(invoice, as_if_active=self.fallback)[invoice][0],
            self.fallback,
            "what activating it would do",
        )
        with self.assertRaisesRegex(UserError, "no default process"):
            invoice.collection_enroll(strict=True)
        self.assertFalse(invoice.collection_enrollment_ids)

    def test_every_condition_must_hold(self):
        rule = self._create_every_condition_rule()
        fitting = self._create_invoice(
            amount=1000, partner=self.key_customer, invoice_payment_term_id=self.pay_terms_b.id
        )
        self.assertEqual(self._process_of(fitting), (self.strict, rule))
        too_big = self._create_invoice(
            amount=9000, partner=self.key_customer, invoice_payment_term_id=self.pay_terms_b.id
        )
        other_terms = self._create_invoice(
            amount=1000, partner=self.key_customer, invoice_payment_term_id=self.pay_terms_a.id
        )
        untagged = self._create_invoice(amount=1000, invoice_payment_term_id=self.pay_terms_b.id)
        for invoice in (too_big, other_terms, untagged):
            self.assertEqual(self._process_of(invoice)[0], self.fallback)
        self.key_customer.trust = "bad"
        self.assertEqual(self._process_of(fitting)[0], self.fallback)

    def test_the_triggers_filter_lets_every_fitting_invoice_through(self):
        """The engine's triggers search with the rule's filter in SQL; the
        rule's conditions decide. Every invoice that fits passes the filter,
        the customer's contacts' invoices and the amounts at the bounds
        included, and those the filter can tell apart do not."""
        rule = self._create_every_condition_rule(invoice_domain="[('ref', '!=', 'EXCLUDED')]")
        contact = self.env["res.partner"].create({"name": "Key AP", "parent_id": self.key_customer.id})
        terms = {"invoice_payment_term_id": self.pay_terms_b.id}
        invoices = (
            self._create_invoice(amount=500, partner=self.key_customer, **terms)
            | self._create_invoice(amount=5000, partner=contact, **terms)
            | self._create_invoice(amount=1000, partner=contact, **terms)
            | self._create_invoice(amount=499, partner=self.key_customer, **terms)
            | self._create_invoice(amount=1000, partner=self.key_customer, ref="EXCLUDED", **terms)
            | self._create_invoice(amount=1000, partner=self.key_customer)
            | self._create_invoice(amount=1000, **terms)
        )
        fitting = invoices.filtered(lambda invoice: rule._explain(invoice)[0])
        passing = invoices.filtered_domain(rule._get_routing_domain())
        self.assertEqual(len(fitting), 3)
        self.assertEqual(passing, fitting)
        self.key_customer.trust = "bad"
        self.assertFalse(invoices.filtered(lambda invoice: rule._explain(invoice)[0]))

    def test_free_domain_on_the_invoice(self):
        rule = self.Rule.create(
            {"name": "Referenced", "process_id": self.strict.id, "invoice_domain": "[('ref', '=', 'PO-77')]"}
        )
        invoice = self._create_invoice(ref="PO-77")
        other = self._create_invoice(ref="PO-78")
        choices = self.Rule._find_process_for_invoices(invoice | other)
        self.assertEqual(choices[invoice], (self.strict, rule))
        self.assertEqual(choices[other][0], self.fallback)

    def test_invalid_domain_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "not valid"):
            self.Rule.create(
                {
                    "name": "Broken",
                    "process_id": self.strict.id,
                    "invoice_domain": "[('no_such_field', '=', 1)]",
                }
            )
        with self.assertRaises(ValidationError):
            self.Rule.create(
                {"name": "Upside down", "process_id": self.strict.id, "amount_min": 10, "amount_max": 5}
            )

    def test_the_test_button_explains_the_choice(self):
        self.Rule.create(
            {"name": "Belgium", "sequence": 1, "process_id": self.strict.id, "country_ids": self.be.ids}
        )
        self.Rule.create(
            {
                "name": "Key",
                "sequence": 2,
                "process_id": self.gentle.id,
                "partner_category_ids": self.key_tag.ids,
            }
        )
        invoice = self._create_invoice(partner=self.key_customer)
        action = invoice.action_test_collection_rules()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        self.assertEqual(wizard.process_id, self.strict)
        self.assertIn("Belgium", wizard.explanation)
        self.assertIn("fits, and wins", wizard.explanation)
        self.assertIn("fits, but a rule of higher priority wins", wizard.explanation)
