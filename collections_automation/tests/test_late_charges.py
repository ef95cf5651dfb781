import re
from datetime import date
from pathlib import Path
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.safe_eval import safe_eval

from ..models.collection_late_charge_rule import round_rate
from ..models.late_charge_laws import LAWS_BY_KEY
from .common import DAY_0, CollectionsCommon, days, load_migration

MANUAL = Path(__file__).resolve().parents[1] / "readme" / "CONFIGURE.md"
# A row of the manual's worked examples: preset, currency, amount, due, formal
# notice (a date or a dash), until, computation, interest, compensation.
WORKED_EXAMPLE = re.compile(
    r"^\| `(\w+)` \| (EUR|GBP) ([\d,.]+) \| (\d{4}-\d\d-\d\d) \| (\d{4}-\d\d-\d\d|—) \| (\d{4}-\d\d-\d\d)"
    r" \| [^|]+ \| ([\d,.]+) \| ([\d,.]+) \|$",
    re.MULTILINE,
)


@tagged("post_install", "-at_install")
class TestLateChargeComputation(CollectionsCommon):
    """Every figure here was computed by hand: simple interest per day,
    yearly rate / days in the year, summed, rounded once to the cent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls._enable_currency("EUR")
        cls.gbp = cls._enable_currency("GBP")
        cls.business = cls.env["res.partner"].create(
            {"name": "Late Payer GmbH", "is_company": True, "email": "ap@latepayer.example.com"}
        )
        cls.Rule = cls.env["collection.late.charge.rule"]

    def _invoice(self, amount, due, currency=None):
        return self._create_invoice(
            amount=amount, due_date=due, partner=self.business, currency_id=(currency or self.eur).id
        )

    def _rule(self, preset, **values):
        return self.Rule.create({"name": preset, "preset": preset, **values})

    def _pay(self, invoice, amount, day):
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": day, "currency_id": invoice.currency_id.id})
        )
        return wizard._create_payments()

    def _interest(self, rule, invoice, until):
        amount, _periods = rule._compute_interest(invoice, until)
        return amount

    def test_the_issues_example_eu_60_days_late(self):
        """10,000 x (2.15% + 8) x 60 / 365 = 166.85, plus EUR 40."""
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 7, 15))
        self._pay(invoice, 10000, date(2025, 9, 13))
        amount, periods = rule._compute_interest(invoice, date(2025, 10, 31))
        self.assertEqual(amount, 166.85, "interest stops on the day it was paid")
        self.assertEqual(periods, [(date(2025, 7, 16), date(2025, 9, 13), 60, 10000.0, 10.15, 365)])
        self.assertEqual(rule._compute_compensation(invoice, date(2025, 9, 13)), 40.0)

    def test_each_preset_on_its_law(self):
        invoice = self._invoice(10000, date(2025, 7, 15))
        until = date(2025, 9, 13)
        # France: ECB rate of the half-year (2.15% on 1 July 2025) + 10.
        self.assertEqual(self._interest(self._rule("fr"), invoice, until), 199.73)
        # Netherlands: ECB + 8, as the directive.
        self.assertEqual(self._interest(self._rule("nl"), invoice, until), 166.85)
        # Germany: base rate 1.27% from 1 July 2025 + 9 = 10.27%.
        self.assertEqual(self._interest(self._rule("de"), invoice, until), 168.82)
        # Contractual 1.5% a month = 18% a year.
        self.assertEqual(self._interest(self._rule("contractual"), invoice, until), 295.89)
        self.assertEqual(self._rule("contractual")._compute_compensation(invoice, until), 0.0)

    def test_uk_rate_of_the_day_before_the_half_year_and_its_scale(self):
        """Bank Rate in force on 31 December 2024: 4.75% + 8 = 12.75%.
        5,000 x 12.75% x 30 / 365 = 52.40; a debt under GBP 10,000: GBP 70."""
        rule = self._rule("uk")
        invoice = self._invoice(5000, date(2025, 1, 31), currency=self.gbp)
        self.assertEqual(self._interest(rule, invoice, date(2025, 3, 2)), 52.40)
        day = date(2025, 3, 2)
        self.assertEqual(rule._compute_compensation(invoice, day), 70.0)
        self.assertEqual(
            rule._compute_compensation(self._invoice(999.99, date(2025, 1, 31), currency=self.gbp), day), 40.0
        )
        self.assertEqual(
            rule._compute_compensation(self._invoice(10000, date(2025, 1, 31), currency=self.gbp), day), 100.0
        )

    def _post_charge(self, rule, invoice, day):
        """The charge invoice of ``invoice`` on ``day``, as a stage makes it, posted."""
        charges = rule._prepare_charges(invoice, day, {})
        charge = self.env["account.move"].create(rule._prepare_charge_invoice_values(invoice, day, charges))
        charge.action_post()
        return charge

    def _interest_line(self, charge):
        return charge.invoice_line_ids.filtered(lambda line: line.collection_charge_type == "interest")

    def test_uk_rate_is_fixed_when_interest_starts_until_payment(self):
        """SI 2002/1675, art. 4: Bank Rate on 31 December 2022 (3.5%), the last
        30 June or 31 December before interest starts on 16 June 2023, holds
        after the rise to 5% of 22 June 2023: 10,000 x 11.5% x 60 / 365 =
        GBP 189.04 (reading the rate again each half-year gave 207.53)."""
        rule = self._rule("uk")
        invoice = self._invoice(10000, date(2023, 6, 15), currency=self.gbp)
        charge = self._post_charge(rule, invoice, date(2023, 8, 14))
        interest = self._interest_line(charge)
        self.assertEqual(charge.state, "posted")
        self.assertEqual(interest.price_subtotal, 189.04)
        self.assertEqual(charge.amount_total, 289.04, "and GBP 100 for a debt of GBP 10,000")
        _amount, periods = rule._compute_interest(invoice, date(2023, 8, 14))
        self.assertEqual(periods, [(date(2023, 6, 16), date(2023, 8, 14), 60, 10000.0, 11.5, 365)])
        self.assertIn("60 days", interest.name)

    def test_netherlands_adds_each_years_interest_to_the_principal(self):
        """Art. 6:119a (3) BW. EUR 12,000 due 31 March 2023, first day late
        1 April 2023. First year, to 31 March 2024: 91 days at 10.5% (ECB 2.5%
        on 1 January 2023), 184 at 12% (4% on 1 July 2023), 91 at 12.5% (4.5%
        on 1 January 2024): 314.14 + 725.92 + 373.97 = 1,414.03, added to the
        principal on 1 April 2024. Then 89 days on 13,414.03 at 12.5% to
        28 June 2024: 408.85. EUR 1,822.88 (simple interest gave 1,779.78)."""
        rule = self._rule("nl")
        invoice = self._invoice(12000, date(2023, 3, 31))
        charge = self._post_charge(rule, invoice, date(2024, 6, 28))
        interest = self._interest_line(charge)
        self.assertEqual(interest.price_subtotal, 1822.88)
        _amount, periods = rule._compute_interest(invoice, date(2024, 6, 28))
        self.assertEqual(
            [(first, days, base, rate) for first, _last, days, base, rate, _year in periods],
            [
                (date(2023, 4, 1), 91, 12000.0, 10.5),
                (date(2023, 7, 1), 184, 12000.0, 12.0),
                (date(2024, 1, 1), 91, 12000.0, 12.5),
                (date(2024, 4, 1), 89, 13414.03, 12.5),
            ],
        )
        self.assertIn("13,414.03", interest.name, "the label shows the base with the year's interest added")
        self.assertEqual(
            self._interest(self._rule("nl", compounding="none"), invoice, date(2024, 6, 28)), 1779.78
        )

    def test_netherlands_compounds_nothing_within_the_first_year(self):
        rule = self._rule("nl")
        invoice = self._invoice(12000, date(2023, 3, 31))
        self.assertEqual(
            self._interest(rule, invoice, date(2024, 3, 31)),
            self._interest(self._rule("nl", compounding="none"), invoice, date(2024, 3, 31)),
        )

    def test_belgium_rounds_the_rate_up_to_the_next_half_point(self):
        """Law of 2 August 2002, art. 5: ECB 2.15% + 8 = 10.15%, rounded up to
        10.5%: 10,000 x 10.5% x 60 / 365 = 172.60, and EUR 40."""
        rule = self._rule("be")
        invoice = self._invoice(10000, date(2025, 7, 15))
        charge = self._post_charge(rule, invoice, date(2025, 9, 13))
        self.assertEqual(self._interest_line(charge).price_subtotal, 172.60)
        self.assertEqual(charge.amount_total, 212.60)
        # A sum already on a half point stays there: 4% + 8 = 12% (second half of 2023).
        self.assertEqual(round_rate(12.0, rule.rate_rounding), 12.0)
        self.assertEqual(round_rate(12.25, rule.rate_rounding), 12.5)

    def test_spain_and_italy_ecb_rate_plus_8(self):
        """Ley 3/2004, art. 7; D.Lgs. 231/2002, art. 5: 2.15% + 8 = 10.15%:
        10,000 x 10.15% x 60 / 365 = 166.85, and EUR 40."""
        invoice = self._invoice(10000, date(2025, 7, 15))
        for preset in ("es", "it"):
            with self.subTest(preset=preset):
                charge = self._post_charge(self._rule(preset), invoice, date(2025, 9, 13))
                self.assertEqual(self._interest_line(charge).price_subtotal, 166.85)
                self.assertEqual(charge.amount_total, 206.85)

    def test_ireland_one_rate_from_the_day_the_payment_became_overdue(self):
        """S.I. 580/2012: overdue from 21 June 2025, the ECB rate of 1 January
        2025 (3.15%) + 8 holds after 1 July: 10,000 x 11.15% x 60 / 365 =
        183.29; EUR 70 for an invoice of 10,000, which does not exceed it."""
        rule = self._rule("ie")
        invoice = self._invoice(10000, date(2025, 6, 20))
        charge = self._post_charge(rule, invoice, date(2025, 8, 19))
        self.assertEqual(self._interest_line(charge).price_subtotal, 183.29)
        self.assertEqual(charge.amount_total, 253.29)
        day = date(2025, 8, 19)
        for amount, compensation in ((1000, 40.0), (1000.01, 70.0), (10000.01, 100.0)):
            with self.subTest(amount=amount):
                self.assertEqual(
                    rule._compute_compensation(self._invoice(amount, date(2025, 6, 20)), day), compensation
                )

    def test_austria_reads_the_base_rate_of_the_half_years_eve(self):
        """§ 456 UGB: the OeNB base rate in force on 30 June 2024 (3.88%)
        holds for the whole second half of 2024, after its cut to 2.53% on
        18 December; the rate of 31 December 2024 for the first half of 2025.
        16 days at 13.08% and 14 at 11.73%: 57.34 + 44.99 = 102.33."""
        rule = self._rule("at")
        invoice = self._invoice(10000, date(2024, 12, 15))
        amount, periods = rule._compute_interest(invoice, date(2025, 1, 14))
        self.assertEqual(amount, 102.33)
        self.assertEqual([(days, rate) for _f, _l, days, _b, rate, _y in periods], [(16, 13.08), (14, 11.73)])
        self.assertEqual(rule._compute_compensation(invoice, date(2025, 1, 14)), 40.0)

    def test_consumer_presets_and_who_is_a_business(self):
        """§ 288 (1) BGB: base rate 1.27% + 5 = 6.27% from the reminder of
        20 July, 10,000 x 6.27% x 55 / 365 = 94.48, no lump sum; § 1000 ABGB:
        4% from the due date, 60 days, 65.75."""
        person = self.env["res.partner"].create({"name": "A consumer", "is_company": False})
        consumer_invoice = self._create_invoice(
            amount=10000, due_date=date(2025, 7, 15), partner=person, currency_id=self.eur.id
        )
        business_invoice = self._invoice(10000, date(2025, 7, 15))
        german, austrian = self._rule("de_consumer"), self._rule("at_consumer")
        self.assertEqual(self._interest(german, consumer_invoice, date(2025, 9, 13)), 0.0, "no reminder yet")
        consumer_invoice.collection_notice_date = date(2025, 7, 20)
        for rule, interest in ((german, 94.48), (austrian, 65.75)):
            self.assertTrue(rule._applies_to(consumer_invoice))
            self.assertFalse(rule._applies_to(business_invoice), "a consumer preset never charges a business")
            self.assertEqual(self._interest(rule, consumer_invoice, date(2025, 9, 13)), interest)
            self.assertEqual(rule._compute_compensation(consumer_invoice, date(2025, 9, 13)), 0.0)
        between_businesses = self._rule("de")
        self.assertFalse(between_businesses._applies_to(consumer_invoice))
        # A sole trader: a business by its VAT number, or marked so on its form.
        person.vat = "DE123456788"
        self.assertTrue(between_businesses._applies_to(consumer_invoice))
        self.assertFalse(german._applies_to(consumer_invoice))
        person.write({"vat": False, "collection_is_business": True})
        self.assertTrue(between_businesses._applies_to(consumer_invoice))
        contact = self.env["res.partner"].create({"name": "Its bookkeeper", "parent_id": person.id})
        self.assertTrue(contact.collection_is_business, "a contact buys as its customer does")

    def test_the_manuals_worked_examples(self):
        """Each preset's worked example in the manual, figure for figure."""
        rows = WORKED_EXAMPLE.findall(MANUAL.read_text())
        self.assertEqual(sorted(row[0] for row in rows), sorted(LAWS_BY_KEY), "one worked example per preset")
        consumer = self.env["res.partner"].create({"name": "A consumer", "is_company": False})
        for preset, currency, amount, due, notice, computed_on, interest, compensation in rows:
            with self.subTest(preset=preset):
                rule = self._rule(preset)
                invoice = self._create_invoice(
                    amount=float(amount.replace(",", "")),
                    due_date=date.fromisoformat(due),
                    partner=consumer if rule.customer_scope == "consumer" else self.business,
                    currency_id=(self.gbp if currency == "GBP" else self.eur).id,
                )
                self.assertEqual(
                    rule.interest_start == "notice", notice != "—", "a notice where the law asks one"
                )
                if notice != "—":
                    invoice.collection_notice_date = date.fromisoformat(notice)
                until = date.fromisoformat(computed_on)
                self.assertTrue(rule._applies_to(invoice))
                self.assertEqual(self._interest(rule, invoice, until), float(interest.replace(",", "")))
                self.assertEqual(rule._compute_compensation(invoice, until), float(compensation))

    def test_belgium_counts_the_reminders_days_from_a_working_day(self):
        """Art. XIX.2: the 14 days of a reminder emailed on a Friday start
        on the Monday, of one posted on the third working day after; a
        public holiday of the company's calendar is no working day."""
        rule = self._rule("be_consumer")
        consumer = self.env["res.partner"].create({"name": "A consumer", "is_company": False})
        invoice = self._create_invoice(amount=10000, due_date=date(2025, 7, 15), partner=consumer)
        cases = [
            (date(2025, 7, 22), date(2025, 8, 6), "a Tuesday's email: from Wednesday"),
            (date(2025, 7, 25), date(2025, 8, 11), "a Friday's email: from Monday"),
        ]
        for notice, first_day, reason in cases:
            invoice.collection_notice_date = notice
            self.assertEqual(rule._get_interest_start(invoice), first_day, reason)
        invoice.collection_notice_date = date(2025, 7, 22)
        self.env["resource.calendar.leaves"].create(
            {
                "name": "A public holiday",
                "calendar_id": self.env.company.resource_calendar_id.id,
                "date_from": "2025-07-23 00:00:00",
                "date_to": "2025-07-23 23:59:59",
            }
        )
        self.assertEqual(rule._get_interest_start(invoice), date(2025, 8, 7), "the holiday is skipped")
        rule.notice_days_from = "third_working_day"
        invoice.collection_notice_date = date(2025, 7, 25)
        self.assertEqual(rule._get_interest_start(invoice), date(2025, 8, 13), "on paper: from Wednesday")
        rule.notice_days_from = "next_day"
        self.assertEqual(rule._get_interest_start(invoice), date(2025, 8, 9), "the day after, weekend or not")

    def test_a_partial_payment_lowers_the_base_after_its_day(self):
        """30 days on 10,000 and 30 days on 6,000 at 10.15%: 83.42 + 50.05."""
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 7, 15))
        self._pay(invoice, 4000, date(2025, 8, 14))
        amount, periods = rule._compute_interest(invoice, date(2025, 9, 13))
        self.assertEqual(amount, 133.48)
        self.assertEqual(
            [(first, last, days, base) for first, last, days, base, _rate, _year in periods],
            [
                (date(2025, 7, 16), date(2025, 8, 14), 30, 10000.0),
                (date(2025, 8, 15), date(2025, 9, 13), 30, 6000.0),
            ],
        )

    def test_a_rate_change_between_two_half_years(self):
        """15 days of June at 3.15% + 8 (ECB rate on 1 January 2025), 15 days
        of July at 2.15% + 8: 45.82 + 41.71."""
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 6, 15))
        amount, periods = rule._compute_interest(invoice, date(2025, 7, 15))
        self.assertEqual(amount, 87.53)
        self.assertEqual(
            [(days, rate) for _f, _l, days, _base, rate, _year in periods], [(15, 11.15), (15, 10.15)]
        )

    def test_a_leap_year_by_the_rules_day_count(self):
        """20 days over 29 February 2024, base rate 3.62% + 9: 69.15 on
        actual/365, 68.96 on actual/actual."""
        invoice = self._invoice(10000, date(2024, 2, 19))
        until = date(2024, 3, 10)
        self.assertEqual(self._interest(self._rule("de"), invoice, until), 69.15)
        self.assertEqual(self._interest(self._rule("de", day_count="act_act"), invoice, until), 68.96)
        self.assertEqual(self._interest(self._rule("de", day_count="act_360"), invoice, until), 70.11)

    def test_a_credit_note_was_never_owed(self):
        """A credit note of 2,500: 7,500 x 10.15% x 60 / 365 from the first
        day late, whatever the credit note's date."""
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 7, 15))
        refund = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": self.business.id,
                "currency_id": self.eur.id,
                "invoice_date": date(2025, 8, 20),
                "invoice_line_ids": [
                    fields.Command.create({"name": "Refund", "price_unit": 2500, "tax_ids": []})
                ],
            }
        )
        refund.action_post()
        (invoice | refund).line_ids.filtered(lambda line: line.account_type == "asset_receivable").reconcile()
        self.assertEqual(self._interest(rule, invoice, date(2025, 9, 13)), 125.14)

    def test_not_late_no_interest(self):
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 7, 15))
        self.assertEqual(rule._compute_interest(invoice, date(2025, 7, 15)), (0.0, []))
        self.assertEqual(
            self._interest(self._rule("eu", interest_type="none"), invoice, date(2025, 9, 13)), 0.0
        )

    def test_a_day_without_a_known_rate_is_a_clear_error(self):
        invoice = self._invoice(10000, date(2015, 1, 15))
        with self.assertRaisesRegex(UserError, "No ECB main refinancing operations rate is known in force"):
            self._rule("eu")._compute_interest(invoice, date(2015, 3, 1))

    def test_an_added_reference_rate_counts_from_its_day(self):
        self.env["collection.reference.rate"].create(
            {"source": "ecb", "date_from": date(2026, 1, 1), "rate": 3.0}
        )
        invoice = self._invoice(10000, date(2026, 1, 15))
        # 30 days at 3% + 8: 10,000 x 11% x 30 / 365 = 90.41.
        self.assertEqual(self._interest(self._rule("eu"), invoice, date(2026, 2, 14)), 90.41)

    def test_late_fees(self):
        day = date(2025, 8, 1)
        percent = self._rule("contractual", fee_type="percent", fee_percent=2.5)
        self.assertEqual(percent._compute_fee(self._invoice(2000, date(2025, 7, 15)), day), 50.0)
        fixed = self._rule("contractual", fee_type="fixed", fee_amount=15.0)
        invoice = self._create_invoice(amount=2000, due_date=date(2025, 7, 15), partner=self.business)
        self.assertEqual(fixed._compute_fee(invoice, day), 15.0)
        self.assertEqual(self._rule("contractual")._compute_fee(invoice, day), 0.0)

    def test_waivers_individuals_and_the_minimum(self):
        rule = self._rule("eu")
        invoice = self._invoice(10000, date(2025, 7, 15))
        self.assertTrue(rule._applies_to(invoice))
        with self.assertRaisesRegex(ValidationError, "Say why the late charges"):
            invoice.collection_late_charge_waived = True
        invoice.write(
            {"collection_late_charge_waived": True, "collection_late_charge_waiver_reason": "Goodwill"}
        )
        self.assertFalse(rule._applies_to(invoice), "waived on the invoice")
        other = self._invoice(10000, date(2025, 7, 15))
        self.business.write(
            {"collection_late_charge_waived": True, "collection_late_charge_waiver_reason": "Key account"}
        )
        self.assertFalse(rule._applies_to(other), "waived for the customer")
        person = self.env["res.partner"].create({"name": "A consumer", "is_company": False})
        consumer_invoice = self._create_invoice(amount=500, due_date=date(2025, 7, 15), partner=person)
        self.assertFalse(rule._applies_to(consumer_invoice), "statutory rules are between businesses")
        self.assertTrue(self._rule("contractual")._applies_to(consumer_invoice))
        above = self._rule("contractual", minimum_amount=1000)
        self.assertFalse(above._applies_to(consumer_invoice), "less due than the minimum")

    def test_a_preset_fills_the_form_and_stays_adjustable(self):
        with Form(self.Rule) as form:
            form.name = "Statutory interest (UK)"
            form.preset = "uk"
            self.assertEqual(form.reference_source, "boe")
            self.assertEqual(form.rate_rule, "half_year_before")
            self.assertTrue(form.rate_fixed)
            self.assertEqual(form.margin, 8.0)
            self.assertEqual(form.compensation_type, "uk")
            form.margin = 4.0
        rule = form.record
        self.assertEqual(rule.margin, 4.0)
        with Form(rule) as form:
            form.preset = "be_consumer"
            self.assertEqual(
                (
                    form.reference_source,
                    form.rate_rule,
                    form.margin,
                    form.compensation_type,
                    form.customer_scope,
                ),
                ("be_legal", "daily", 0.0, "none", "consumer"),
            )
            self.assertEqual(
                (form.interest_start, form.notice_days, form.notice_days_from),
                ("notice", 14, "next_working_day"),
            )
            form.preset = "eu"
            self.assertEqual(
                (form.interest_start, form.notice_days, form.notice_days_from),
                ("due", 0, "next_day"),
                "a preset sets every field",
            )
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self._rule("nl_consumer", notice_days=-1)
        with self.assertRaisesRegex(ValidationError, "contractual rate must be above zero"):
            self._rule("contractual", contractual_rate=0)


class LateChargeProcessCase(CollectionsCommon):
    """A process whose stages charge the late charges of a rule, and an
    invoice of EUR 10,000 due on DAY_0 in it."""

    @classmethod
    def _set_up_charging(cls, customer_values, rule_values, stage_values_list):
        cls.eur = cls._enable_currency("EUR")
        cls.customer_charged = cls.env["res.partner"].create(customer_values)
        cls.rule = cls.env["collection.late.charge.rule"].create(rule_values)
        cls.process = cls.env["collection.process"].create(
            {
                "name": f"Charging {cls.rule.name}",
                "user_id": cls.collections_manager.id,
                "late_charge_rule_id": cls.rule.id,
                "stage_ids": [fields.Command.create(values) for values in stage_values_list],
            }
        )

    def setUp(self):
        super().setUp()
        self.invoice = self._create_invoice(
            amount=10000, partner=self.customer_charged, currency_id=self.eur.id
        )
        with self._at(DAY_0):
            self.enrollment = self.invoice.collection_enroll(process_id=self.process.id)


@tagged("post_install", "-at_install")
class TestLateChargeStage(LateChargeProcessCase):
    """The stage action that invoices the late charges, through the engine."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_up_charging(
            {"name": "Late Payer BV", "is_company": True, "email": "ap@latepayer.example.com"},
            {"name": "EU", "preset": "eu"},
            [
                {
                    **cls._prepare_reminder_stage_values(),
                    "name": "Interest",
                    "delay_days": 30,
                    "charge_late_fees": True,
                },
                {"name": "Interest again", "sequence": 2, "delay_days": 60, "charge_late_fees": True},
            ],
        )
        cls.business = cls.customer_charged

    def _charges(self):
        return self.invoice.collection_charge_move_ids

    def test_the_stage_invoices_interest_and_compensation_once(self):
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(len(charge), 1)
        self.assertEqual(charge.state, "draft", "the rule leaves charges for an accountant to approve")
        self.assertEqual(charge.invoice_origin, self.invoice.name)
        self.assertEqual(charge.partner_id, self.business)
        self.assertEqual(charge.currency_id, self.eur)
        lines = charge.invoice_line_ids.sorted("collection_charge_type")
        # 10,000 x (2.15% + 8) x 30 / 365 = 83.42, and EUR 40.
        self.assertEqual(lines.mapped("collection_charge_type"), ["compensation", "interest"])
        self.assertEqual(lines.mapped("price_subtotal"), [40.0, 83.42])
        self.assertFalse(lines.tax_ids, "damages are outside the scope of VAT")
        interest = lines.filtered(lambda line: line.collection_charge_type == "interest")
        self.assertIn("30 days", interest.name)
        self.assertIn("10.15%", interest.name)
        self.assertIn("10,000.00", interest.name)
        self.assertEqual(interest.product_id, self.env.ref("collections_automation.product_late_interest"))
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual((event.charge_move_id, event.amount, event.outcome), (charge, 123.42, "done"))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.account_move_action_late_charges_to_approve"
        )
        self.assertIn(charge, self.env["account.move"].search(safe_eval(action["domain"])))
        # The engine runs again the same day, and the next: nothing more.
        self._run_engine(days(30))
        self._run_engine(days(31))
        self.assertEqual(self._charges(), charge)
        self.assertEqual(len(self._reminders(self.enrollment)), 1)

    def test_a_later_stage_charges_only_the_interest_accrued_since(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        self._run_engine(days(60))
        first, second = self._charges().sorted("id")
        self.assertEqual((first.state, second.state), ("posted", "posted"))
        # 60 days in all: 166.85, of which 83.42 charged at the first stage.
        self.assertEqual(second.invoice_line_ids.mapped("collection_charge_type"), ["interest"])
        self.assertEqual(second.amount_total, 83.43)
        self.assertIn("charged before", second.invoice_line_ids.name)

    def test_a_failure_later_in_the_stage_rolls_the_charge_back(self):
        EmailAction = type(self.env["collection.stage.action.email"])
        with patch.object(EmailAction, "_run", side_effect=RuntimeError("SMTP down")):
            self._run_engine(days(30))
        self.assertFalse(self._charges(), "the charge went with the failed stage")
        self._run_engine(days(31))
        self.assertEqual(len(self._charges()), 1)
        self.assertEqual(len(self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")), 1)

    def test_nothing_charged_when_waived_or_without_a_rule(self):
        self.invoice.write(
            {"collection_late_charge_waived": True, "collection_late_charge_waiver_reason": "Goodwill"}
        )
        self._run_engine(days(30))
        self.assertFalse(self._charges())
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual(event.outcome, "skipped")
        self.assertIn("do not apply", event.message)
        self.assertEqual(len(self._reminders(self.enrollment)), 1, "the stage's email still goes")

    def test_a_segment_rule_chooses_another_rule(self):
        contractual = self.env["collection.late.charge.rule"].create(
            {"name": "Terms of sale", "preset": "contractual", "compensation_type": "none"}
        )
        segment = self.env["collection.segment.rule"].create(
            {"name": "Dutch customers", "process_id": self.process.id, "late_charge_rule_id": contractual.id}
        )
        self.enrollment.segment_rule_id = segment
        self._run_engine(days(30))
        # 18% a year: 10,000 x 18% x 30 / 365 = 147.95, no compensation.
        self.assertEqual(self._charges().amount_total, 147.95)

    def test_posted_charges_are_due_with_the_invoice(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(self.enrollment.amount_charged, 123.42)
        self.assertEqual(self.enrollment.amount_residual, 10123.42)
        self.assertEqual(self.enrollment._get_payable_invoices(), self.invoice | charge)
        # The invoice paid by transfer: the collection goes on for the charges.
        self._pay(self.invoice, amount=10000, day=days(32))
        self.assertEqual(self.enrollment.state, "running")
        self.assertEqual(
            (self.enrollment.amount_residual, self.enrollment.amount_collected), (123.42, 10000.0)
        )
        self._pay(charge, day=days(33))
        self.assertEqual(self.enrollment.state, "paid")
        self.assertEqual(self.enrollment.amount_collected, 10123.42)
        # Everything owed was collected: the charges count on both sides.
        self.env.flush_all()
        amount_rate, _count_rate = self.env["collection.kpi"]._get_recovery_rate(
            self.env.company, DAY_0, days(40)
        )
        self.assertAlmostEqual(amount_rate, 100.0)
        cash, _by_stage = self.env["collection.kpi"]._get_cash_collected(self.env.company, DAY_0, days(40))
        rate = self.invoice.invoice_currency_rate
        self.assertAlmostEqual(cash, round(10000 / rate, 2) + round(123.42 / rate, 2), places=2)

    def test_a_draft_charge_counts_once_an_accountant_posts_it(self):
        self._run_engine(days(30))
        charge = self._charges()
        self.assertEqual(self.enrollment.amount_residual, 10000.0, "a draft is not due yet")
        charge.action_post()
        self.assertEqual(
            (self.enrollment.amount_charged, self.enrollment.amount_residual), (123.42, 10123.42)
        )
        self.assertFalse(
            self.enrollment.event_ids.filtered(lambda e: e.action == "partial_payment"), "not a payment"
        )

    def test_waiving_a_charge_is_a_credit_note_with_its_reason(self):
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        action = charge.with_user(self.collections_user).action_waive_late_charges()
        wizard = self.env[action["res_model"]].browse(action["res_id"]).with_user(self.collections_user)
        wizard.reason = "Long-standing customer, first delay"
        wizard.action_waive()
        self.assertEqual(charge.payment_state, "reversed")
        credit_note = charge.reversal_move_ids
        self.assertEqual((credit_note.state, credit_note.amount_total), ("posted", 123.42))
        self.assertIn("Long-standing customer", credit_note.ref)
        self.assertEqual((self.enrollment.amount_charged, self.enrollment.amount_residual), (0.0, 10000.0))
        self.assertEqual(self.enrollment.amount_collected, 0.0, "a waiver is not cash")
        self.assertTrue(
            self.enrollment.message_ids.filtered(lambda m: "Long-standing customer" in str(m.body))
        )
        # The next stage charges the interest accrued since, not the waived.
        self._run_engine(days(60))
        self.assertEqual((self._charges() - charge).amount_total, 83.43)
        with self.assertRaisesRegex(UserError, "Only posted late charge invoices"):
            self.invoice.action_waive_late_charges()

    def test_the_collection_shows_the_interest_accrued_to_date(self):
        with self._at(days(45)):
            self.enrollment.invalidate_recordset(["late_interest_accrued"])
            # 10,000 x 10.15% x 45 / 365.
            self.assertEqual(self.enrollment.late_interest_accrued, 125.14)
        self.enrollment.process_id.late_charge_rule_id = False
        self.enrollment.invalidate_recordset(["late_interest_accrued"])
        self.assertEqual(self.enrollment.late_interest_accrued, 0.0)

    def test_a_charge_invoice_is_collected_with_its_invoice_never_on_its_own(self):
        self.rule.auto_post = True
        self.process.write({"auto_enroll_overdue": True, "grace_days": 0})
        self.env.company.collection_default_process_id = self.process
        self._run_engine(days(30))
        charge = self._charges()
        # Overdue too, but it is due with its invoice's collection.
        self._run_engine(days(45))
        self.assertFalse(charge.collection_enrollment_ids)
        with self.assertRaisesRegex(UserError, "collected with that invoice"):
            charge.collection_enroll(process_id=self.process.id)
        # Its invoice paid, the collection stays open for the charge alone.
        self._pay(self.invoice, amount=10000, day=days(46))
        self._run_engine(days(47))
        self.assertFalse(charge.collection_enrollment_ids)
        self.assertEqual(self.enrollment.amount_residual, charge.amount_residual)
        # The collection cancelled by a user: the triggers leave the charge
        # alone; a person may chase it on its own.
        self.enrollment.action_cancel()
        self._run_engine(days(48))
        self.assertFalse(charge.collection_enrollment_ids)
        self.assertTrue(charge.collection_enroll(process_id=self.process.id))

    def test_a_partly_paid_charge_reversed_still_lets_the_last_payment_close_it(self):
        """Found by the simulation: reversing a partly paid charge (Odoo hands
        the part paid back to the customer's account) lowered what the
        collection had received, and the payment of the invoice's last 50
        then left it open (it closed only when what was received rose)."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self._pay(self.invoice, amount=9950, day=days(31))
        self._pay(charge, amount=100, day=days(32))
        self.assertEqual(self.enrollment.amount_residual, 50 + 23.42)
        with self.assertRaisesRegex(UserError, "partly paid"):
            charge.action_waive_late_charges()
        charge._reverse_moves([{"invoice_date": days(32)}], cancel=True)
        self.assertEqual(self.enrollment.amount_residual, 50.0)
        self._pay(self.invoice, amount=50, day=days(33))
        self.assertEqual(self.enrollment.state, "paid")

    def test_the_reminder_and_the_letter_show_the_charges(self):
        """The stage charges first, then its email says what it includes."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        reminder = self._reminders(self.enrollment)
        self.assertIn("10,123.42", str(reminder.body))
        self.assertIn("Including late charges of", str(reminder.body))
        self.assertIn("123.42", str(reminder.body))
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "collections_automation.collection_letter_report", self.enrollment.ids
        )
        self.assertIn("Including late charges of", str(html))

    def test_charges_still_due_are_owed_in_the_next_collection_of_the_invoice(self):
        """Found by the simulation: enrolled again by hand, the invoice's new
        collection owed the invoice alone, not its charges still due."""
        self.rule.auto_post = True
        self._run_engine(days(30))
        charge = self._charges()
        self.enrollment.action_cancel()
        with self._at(days(31)):
            again = self.invoice.collection_enroll(process_id=self.process.id, reenroll=True)
        self.assertEqual((again.amount_due_at_enrollment, again.amount_residual), (10123.42, 10123.42))
        self.assertEqual((again.amount_charged, again.amount_collected), (0.0, 0.0))
        self._pay(charge, day=days(32))
        self.assertEqual((again.amount_residual, again.amount_collected), (10000.0, 123.42))
        self._pay(self.invoice, amount=10000, day=days(33))
        self.assertEqual(again.state, "paid")


@tagged("post_install", "-at_install")
class TestFormalNotice(LateChargeProcessCase):
    """The consumer presets that count interest from a formal notice: the
    engine dates the notice on the invoice, the stage charges from it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_up_charging(
            {"name": "Camille Martin", "is_company": False, "email": "camille@example.com"},
            {"name": "France, consumers", "preset": "fr_consumer", "auto_post": True},
            [
                cls._prepare_reminder_stage_values(),
                {
                    "name": "Interest",
                    "sequence": 2,
                    "delay_days": 30,
                    "delay_from": "due_date",
                    "charge_late_fees": True,
                },
            ],
        )

    def _email_event(self, day):
        with self._at(day):
            self.enrollment._log_event("email")

    def test_the_first_reminder_after_the_due_date_is_the_formal_notice(self):
        self._email_event(days(-2))
        self._email_event(DAY_0)
        self.assertFalse(
            self.invoice.collection_notice_date, "a reminder before or on the due date is no notice"
        )
        self.enrollment._log_event("email", outcome="failed")
        self.assertFalse(self.invoice.collection_notice_date, "an email that was not sent is no notice")
        with self._at(days(2)):
            self.enrollment._log_event("letter")
        self.assertFalse(
            self.invoice.collection_notice_date, "a printed letter is no notice until the day it is posted"
        )
        self._email_event(days(3))
        self._email_event(days(10))
        self.assertEqual(self.invoice.collection_notice_date, days(3), "the first one, kept")

    def test_a_notice_an_accountant_dated_is_kept(self):
        self.invoice.collection_notice_date = days(1)
        self._email_event(days(3))
        self.assertEqual(self.invoice.collection_notice_date, days(1))

    def test_the_stage_charges_interest_from_the_notice(self):
        """Notice on 5 March 2026 (the reminder, 3 days after the due date):
        27 days from 6 March to 1 April at 2.62% (taux légal of the first
        half of 2026, tous les autres cas): 10,000 x 2.62% x 27 / 365 =
        19.38; no compensation for a consumer."""
        self._run_engine(days(3))
        self.assertEqual(len(self._reminders(self.enrollment)), 1)
        self.assertEqual(self.invoice.collection_notice_date, days(3))
        self._run_engine(days(30))
        charge = self.invoice.collection_charge_move_ids
        self.assertEqual((charge.state, charge.amount_total), ("posted", 19.38))
        self.assertIn("27 days", charge.invoice_line_ids.name)
        self.assertIn("2.62%", charge.invoice_line_ids.name)

    def test_an_upgrade_dates_the_notices_from_the_history(self):
        """19.0.1.5.0 leaves the new column empty and dates the notices of
        the invoices whose collections emailed a reminder."""
        self._email_event(days(3))
        self._email_event(days(10))
        quiet = self._create_invoice(amount=500)
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE account_move SET collection_notice_date = NULL"))
        self.env.invalidate_all()
        for step in ("pre-migrate", "post-migrate"):
            load_migration("19.0.1.5.0", step).migrate(self.env.cr, "19.0.1.4.0")
        self.env.invalidate_all()
        self.assertEqual(self.invoice.collection_notice_date, days(3))
        self.assertFalse(quiet.collection_notice_date)

    def test_an_upgrade_counts_belgian_notices_from_the_working_day_after(self):
        belgian = self.env["collection.late.charge.rule"].create({"name": "Belgium", "preset": "be_consumer"})
        adjusted = belgian.copy({"notice_days_from": "third_working_day"})
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE collection_late_charge_rule SET notice_days_from = 'next_day' WHERE id = %s",
                belgian.id,
            )
        )
        load_migration("19.0.1.5.1", "post-migrate").migrate(self.env.cr, "19.0.1.5.0")
        self.env.invalidate_all()
        self.assertEqual(belgian.notice_days_from, "next_working_day")
        self.assertEqual(adjusted.notice_days_from, "third_working_day", "a rule set otherwise is kept")

    def test_no_interest_before_a_notice(self):
        self.process.stage_ids.filtered(lambda stage: stage.name == "Reminder").send_email = False
        self._run_engine(days(3))
        self._run_engine(days(30))
        self.assertFalse(self.invoice.collection_notice_date)
        self.assertFalse(self.invoice.collection_charge_move_ids)
        event = self.enrollment.event_ids.filtered(lambda e: e.action == "late_charge")
        self.assertEqual((event.outcome, event.message), ("skipped", "Nothing more to charge."))
