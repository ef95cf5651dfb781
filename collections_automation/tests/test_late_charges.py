import re
from datetime import date
from pathlib import Path

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from ..models.collection_late_charge_rule import round_rate
from ..models.late_charge_laws import LAWS_BY_KEY
from .common import CollectionsCommon

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
