import random
from datetime import date, timedelta

import psycopg2
from lxml import html

from odoo import fields
from odoo.tests import Form, tagged
from odoo.tools import SQL

from ..models.collection_kpi import REPORTING_WORK_MEM
from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestReceivableKpis(CollectionsCommon):
    """Aging, DSO, best possible DSO, ADD and CEI on invoices whose figures
    are worked out by hand below. Period: April to June 2026 (91 days),
    as of 30 June."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def invoice(amount, invoice_date, due, move_type="out_invoice"):
            move = cls.env["account.move"].create(
                {
                    "move_type": move_type,
                    "partner_id": cls.customer.id,
                    "invoice_date": invoice_date,
                    "invoice_date_due": due,
                    "invoice_line_ids": [
                        fields.Command.create({"name": "Goods", "price_unit": amount, "tax_ids": []})
                    ],
                }
            )
            move.action_post()
            return move

        cls.a = invoice(1000, date(2026, 3, 10), date(2026, 4, 9))  # 400 paid on 15 May
        cls.b = invoice(2000, date(2026, 4, 15), date(2026, 5, 15))
        cls.c = invoice(3000, date(2026, 6, 10), date(2026, 7, 10))
        cls.d = invoice(500, date(2026, 5, 1), date(2026, 5, 31))  # paid on 5 June
        cls.e = invoice(700, date(2026, 2, 1), date(2026, 3, 3))
        cls.r = invoice(200, date(2026, 6, 20), date(2026, 6, 20), move_type="out_refund")
        cls.date_from, cls.date_to = date(2026, 4, 1), date(2026, 6, 30)

    def setUp(self):
        super().setUp()
        self._pay(self.a, amount=400.0, day=date(2026, 5, 15))
        self._pay(self.d, day=date(2026, 6, 5))
        self.kpi = self.env["collection.kpi"]
        self.company = self.env.company

    def test_aging_on_the_as_of_date(self):
        # A: 600 left, 82 days late; B: 46 days; C: not due; D: paid;
        # E: 119 days; the credit note: 10 days.
        self.assertEqual(
            self.kpi._get_aging(self.company, self.date_to),
            {"current": 3000.0, "1_30": -200.0, "31_60": 2000.0, "61_90": 600.0, "over_90": 700.0},
        )
        # On 31 March, before any payment: A (not due) and E (28 days late).
        self.assertEqual(
            self.kpi._get_aging(self.company, date(2026, 3, 31)),
            {"current": 1000.0, "1_30": 700.0, "31_60": 0.0, "61_90": 0.0, "over_90": 0.0},
        )

    def test_dso_simple_best_and_add(self):
        # Credit sales of the period: B + C + D - credit note = 5,300.
        self.assertEqual(self.kpi._get_credit_sales(self.company, self.date_from, self.date_to), 5300.0)
        dso = self.kpi._get_dso_simple(self.company, self.date_from, self.date_to)
        self.assertAlmostEqual(dso, 6100 / 5300 * 91)
        best = self.kpi._get_dso_simple(self.company, self.date_from, self.date_to, current_only=True)
        self.assertAlmostEqual(best, 3000 / 5300 * 91)
        kpis = self.kpi._get_kpis(self.company, self.date_from, self.date_to)
        self.assertAlmostEqual(kpis["add_simple"], (6100 - 3000) / 5300 * 91)

    def test_dso_countback(self):
        # AR 6,100. June (30 days) sold 2,800: 3,300 left. May (31) sold 500:
        # 2,800 left. April (30) sold 2,000: 800 left. March (31) sold
        # 1,000 > 800: 800 / 1,000 x 31 = 24.8. DSO = 30 + 31 + 30 + 24.8.
        self.assertAlmostEqual(self.kpi._get_dso_countback(self.company, self.date_to), 115.8)
        # Best: current AR 3,000: June takes 2,800 (30 days), May 200 / 500 x 31.
        self.assertAlmostEqual(
            self.kpi._get_dso_countback(self.company, self.date_to, current_only=True), 42.4
        )
        kpis = self.kpi._get_kpis(self.company, self.date_from, self.date_to)
        self.assertAlmostEqual(kpis["add_countback"], 115.8 - 42.4)

    def test_monthly_credit_sales_of_the_countback(self):
        # E in February, A in March, B in April, D in May, C less the credit
        # note in June; four months back from 30 June start in March.
        self.assertEqual(
            self.kpi._get_monthly_credit_sales(self.company, self.date_to),
            {
                date(2026, 2, 1): 700.0,
                date(2026, 3, 1): 1000.0,
                date(2026, 4, 1): 2000.0,
                date(2026, 5, 1): 500.0,
                date(2026, 6, 1): 2800.0,
            },
        )
        self.assertEqual(
            set(self.kpi._get_monthly_credit_sales(self.company, self.date_to, months=4)),
            {date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)},
        )
        # Up to the day asked: C (10 June) is in, the credit note (20 June) not yet.
        self.assertEqual(
            self.kpi._get_monthly_credit_sales(self.company, date(2026, 6, 15), months=1),
            {date(2026, 6, 1): 3000.0},
        )

    def test_the_kpi_screen_shows_each_figure_with_its_definition(self):
        screen = Form(self.env["collection.dashboard"].with_user(self.collections_user))
        screen.date_from, screen.date_to = self.date_from, self.date_to
        table = str(screen.kpi_table)
        dashboard = screen.save()
        self.assertEqual(dashboard.display_name, "Collections KPIs")
        self.assertAlmostEqual(dashboard.cei, 22.5)
        self.assertAlmostEqual(dashboard.dso_countback, 115.8)
        self.assertEqual(dashboard.aging_over_90, 700.0)
        self.assertIn("115.8", table)
        self.assertIn("Ending receivables / credit sales of the period", table)

    def test_the_kpi_screen_writes_numbers_as_the_user_reads_them(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        # The web client sends the user's language with every call.
        screen = Form(
            self.env["collection.dashboard"].with_user(self.collections_user).with_context(lang="fr_FR")
        )
        screen.date_from, screen.date_to = self.date_from, self.date_to
        table = html.fromstring(str(screen.kpi_table))
        [dso] = table.xpath("//td[contains(@class, 'o_collection_kpi_dso_countback')]")
        [cei] = table.xpath("//td[contains(@class, 'o_collection_kpi_cei')]")
        [over_90] = table.xpath("//td[contains(@class, 'o_collection_kpi_aging_over_90')]")
        self.assertEqual((dso.text_content(), cei.text_content()), ("115,8", "22,5"))
        self.assertIn("700,00", over_90.text_content(), "amounts and rates alike")

    def test_the_kpi_screen_reads_in_a_fixed_number_of_queries(self):
        # One aging scan on the end date shared by DSO, best DSO, CEI and the
        # aging buckets; the kept days of the countback's two years and of
        # the period (collection.kpi.day), and, none being kept, the days'
        # credit sales, receivables changes, cash collected and stage runs,
        # one query each; one query per other KPI (sent to legal included),
        # the company's time zone (its record and its partner's), and
        # PostgreSQL's reporting settings set and set back: none of them reads
        # invoice by invoice. The first call warms the access rules'
        # caches, which other tests may have filled.
        self.kpi._get_kpis(self.company, self.date_from, self.date_to)
        self.env.invalidate_all()
        with self.assertQueryCount(15):
            kpis = self.kpi._get_kpis(self.company, self.date_from, self.date_to)
        self.assertAlmostEqual(kpis["cei"], 22.5)
        self.assertAlmostEqual(kpis["dso_countback"], 115.8)

    def test_cei(self):
        # Beginning AR (31 March): A 1,000 + E 700 = 1,700. Sales 5,300.
        # Ending AR 6,100, of which current 3,000.
        # (1,700 + 5,300 - 6,100) / (1,700 + 5,300 - 3,000) = 900 / 4,000.
        self.assertAlmostEqual(self.kpi._get_cei(self.company, self.date_from, self.date_to), 22.5)


@tagged("post_install", "-at_install")
class TestReceivablesOnADay(CollectionsCommon):
    """The receivables on a day are read from today's open lines and the
    reconciliations since that day; on random ledgers they are, bucket by
    bucket, those computed line by line from every reconciliation up to
    that day."""

    FIRST_DAY = date(2025, 11, 1)
    LEDGER_DAYS = 240

    def _random_ledger(self, rng):
        """Invoices and credit notes over the ledger's days; payments full
        and partial, registered in a random order (so many are dated before
        others registered earlier); credit notes matched with invoices; some
        payments unreconciled again."""
        customers = self.env["res.partner"].create(
            [{"name": f"Ledger customer {number}"} for number in range(3)]
        )
        moves = self.env["account.move"]
        for _number in range(24):
            issued = self.FIRST_DAY + timedelta(days=rng.randrange(self.LEDGER_DAYS // 2))
            moves |= self._create_invoice(
                amount=rng.choice((120.0, 480.5, 1000.0, 2333.33)),
                due_date=issued + timedelta(days=rng.choice((0, 15, 30, 60))),
                partner=rng.choice(customers),
                invoice_date=issued,
                move_type=rng.choice(("out_invoice",) * 5 + ("out_refund",)),
            )
        invoices = moves.filtered(lambda move: move.move_type == "out_invoice")
        payments = []
        for invoice in invoices:
            for _payment in range(rng.choice((0, 1, 1, 2))):
                payments.append((invoice, rng.choice((0.25, 0.5, 1.0))))
        rng.shuffle(payments)
        for invoice, share in payments:
            if invoice.amount_residual:
                paid_on = invoice.invoice_date + timedelta(days=rng.randrange(self.LEDGER_DAYS // 2))
                amount = invoice.currency_id.round(min(invoice.amount_residual, invoice.amount_total * share))
                self._pay(invoice, amount=amount, day=paid_on)
        for credit_note in moves - invoices:
            open_invoices = invoices.filtered(lambda move: move.amount_residual)
            if open_invoices and rng.random() < 0.7:
                line = credit_note.line_ids.filtered(lambda line: line.display_type == "payment_term")
                rng.choice(open_invoices).js_assign_outstanding_line(line.id)
        partials = invoices.line_ids.matched_credit_ids
        partials.browse(rng.sample(partials.ids, len(partials) // 5)).unlink()
        return moves

    def test_the_receivables_on_a_day_are_those_of_each_line_history(self):
        Kpi = self.env["collection.kpi"]
        company = self.env.company
        # Each seed's ledger adds to the last ones': the company's receivables
        # grow more varied.
        for seed in (1, 2, 3):
            self._random_ledger(random.Random(seed))
            for offset in range(-10, self.LEDGER_DAYS + 10, 6):
                day = self.FIRST_DAY + timedelta(days=offset)
                by_history = Kpi._get_aging(
                    company, day, residuals=Kpi._receivable_residuals_by_history(company, day)
                )
                self.assertEqual(
                    {bucket: round(amount, 2) for bucket, amount in Kpi._get_aging(company, day).items()},
                    {bucket: round(amount, 2) for bucket, amount in by_history.items()},
                    f"seed {seed}: receivables on {day}",
                )


@tagged("post_install", "-at_install")
class TestCollectionKpis(CollectionsCommon):
    """Cash collected, recovery rate, days to collect and stage effectiveness
    on three invoices of the standard process (reminder on day 3, call 7 days
    later, final notice on day 30), March 2026."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first = cls._create_invoice(amount=1000.0)
        cls.second = cls._create_invoice(amount=500.0)
        cls.third = cls._create_invoice(amount=300.0)
        cls.march = (date(2026, 3, 1), date(2026, 3, 31))

    def _walk(self, first, last, payments):
        for day in range(first, last + 1):
            for invoice, amount in payments.get(day, []):
                with self._at(days(day)):
                    self._pay(invoice, amount=amount, day=days(day))
            self._run_engine(days(day))

    def setUp(self):
        super().setUp()
        with self._at(DAY_0):
            self.enrollments = (self.first | self.second | self.third).collection_enroll(
                process_id=self.standard_process.id
            )
        # Reminders on day 3, calls on day 10. The first pays in full on day
        # 5, the second 200 on day 12, the third in full on day 20.
        self._walk(0, 25, {5: [(self.first, 1000.0)], 12: [(self.second, 200.0)], 20: [(self.third, 300.0)]})
        self.kpi = self.env["collection.kpi"]

    def test_cash_collected_goes_to_the_last_stage_before_the_payment(self):
        total, by_stage = self.kpi._get_cash_collected(self.env.company, *self.march)
        self.assertEqual(total, 1500.0)
        process = self.standard_process.id
        self.assertEqual(
            by_stage, {(process, self.reminder_stage.id): 1000.0, (process, self.call_stage.id): 500.0}
        )

    def test_the_stage_table_adds_up_to_the_cash_collected(self):
        # Enrolled on day 26 and paid the next day, before its first stage ran.
        early = self._create_invoice(amount=250.0)
        with self._at(days(26)):
            early.collection_enroll(process_id=self.standard_process.id)
        with self._at(days(27)):
            self._pay(early, day=days(27))
        screen = Form(self.env["collection.dashboard"].with_user(self.collections_user))
        screen.date_from, screen.date_to = self.march
        totals = html.fromstring(str(screen.stage_table)).xpath("//tfoot/tr")
        lines = [[cell.text_content().strip() for cell in row.xpath("td")] for row in totals]
        self.assertEqual([label for label, _amount in lines], ["Paid before any stage ran", "Cash collected"])
        self.assertIn("250.00", lines[0][1])
        self.assertIn("1,750.00", lines[1][1], "the stages' 1,500 and the 250 paid before any")
        self.assertEqual(self.kpi._get_cash_collected(self.env.company, *self.march)[0], 1750.0)

    def test_a_credit_note_is_not_cash_collected(self):
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": self.customer.id,
                "invoice_date": days(22),
                "invoice_line_ids": [
                    fields.Command.create({"name": "Goodwill", "price_unit": 100.0, "tax_ids": []})
                ],
            }
        )
        credit_note.action_post()
        with self._at(days(22)):
            self.second.js_assign_outstanding_line(
                credit_note.line_ids.filtered(lambda line: line.account_type == "asset_receivable").id
            )
        self.assertEqual(self.second.amount_residual, 200.0)
        total, _by_stage = self.kpi._get_cash_collected(self.env.company, *self.march)
        self.assertEqual(total, 1500.0, "the 100 credited is not cash")

    def test_recovery_rate_keeps_collections_in_progress(self):
        amount_rate, count_rate = self.kpi._get_recovery_rate(self.env.company, *self.march)
        self.assertAlmostEqual(amount_rate, 1500 / 1800 * 100)
        self.assertAlmostEqual(count_rate, 2 / 3 * 100)

    def test_median_days_to_collect(self):
        # Paid collections: 5 and 20 days.
        self.assertEqual(self.kpi._get_median_days_to_collect(self.env.company, *self.march), 12.5)

    def test_no_paid_collection_has_no_median(self):
        self.assertEqual(
            self.kpi._get_median_days_to_collect(self.env.company, date(2000, 1, 1), date(2000, 1, 31)), 0.0
        )

    def test_each_reporting_read_of_a_transaction_runs_with_the_reporting_settings(self):
        # The nightly refresh reads many periods in one transaction: each
        # one, not only the first, without JIT and with a larger work_mem,
        # and PostgreSQL's own settings are back after each.
        def settings():
            return tuple(
                self.env.execute_query(SQL("SELECT current_setting('jit'), current_setting('work_mem')"))[0]
            )

        reporting = ("off", REPORTING_WORK_MEM)
        self.env.cr.execute("SET LOCAL jit = on; SET LOCAL work_mem = '4MB'")
        before = settings()
        for _read in range(2):
            with self.kpi._reporting_settings():
                self.assertEqual(settings(), reporting)
                # The recovery rate reads the analysis, which asks for them too.
                with self.kpi._reporting_settings():
                    self.assertEqual(settings(), reporting)
                self.assertEqual(settings(), reporting)
            self.assertEqual(settings(), before)

    def test_a_failed_reporting_read_raises_its_own_error_and_leaves_the_next_read_its_settings(self):
        # A serialization failure must reach Odoo's retry as it is.
        with (
            self.assertRaises(psycopg2.errors.DivisionByZero),
            self.env.cr.savepoint(),
            self.kpi._reporting_settings(),
        ):
            self.env.cr.execute("SELECT 1 / 0")
        with self.kpi._reporting_settings():
            self.assertEqual(
                self.env.execute_query(SQL("SELECT current_setting('jit'), current_setting('work_mem')"))[0],
                ("off", REPORTING_WORK_MEM),
            )

    def test_stage_effectiveness(self):
        # Reminder: reached by 3; only the first paid before the call ran.
        # Call: reached by 2 (day 10); the third paid on day 20, within 14
        # days, and the final notice has not run: it counts.
        self.assertEqual(
            self.kpi._get_stage_effectiveness(self.env.company, *self.march),
            {self.reminder_stage.id: (3, 1), self.call_stage.id: (2, 1)},
        )

    def test_the_kpi_screen_shows_stage_effectiveness(self):
        screen = Form(self.env["collection.dashboard"].with_user(self.collections_user))
        screen.date_from, screen.date_to = self.march
        rows = html.fromstring(str(screen.stage_table)).xpath("//tbody/tr")
        cells = {row.get("class"): [cell.text_content().strip() for cell in row.xpath("td")] for row in rows}
        reminder_key = f"o_collection_stage_kpi_{self.reminder_stage.id}"
        call_key = f"o_collection_stage_kpi_{self.call_stage.id}"
        reminder, call = cells[reminder_key], cells[call_key]
        # Reminder: 1 of 3 paid before the call, 1,000 collected after it;
        # call: 1 of 2, 500 collected (200 from the second, 300 from the third).
        self.assertEqual(reminder[2:5], ["3", "1", "33.3"])
        self.assertIn("1,000.00", reminder[5])
        self.assertEqual(call[2:5], ["2", "1", "50.0"])
        self.assertIn("500.00", call[5])
        self.assertLess(list(cells).index(reminder_key), list(cells).index(call_key), "in ladder order")
        screen.date_from, screen.date_to = date(2025, 1, 1), date(2025, 1, 31)
        self.assertIn("No stage ran in this period.", str(screen.stage_table))


@tagged("post_install", "-at_install")
class TestPromiseKeptRate(CollectionsCommon):
    def test_promises_kept_over_promises_due(self):
        kept, broken = self._create_invoice(amount=100.0), self._create_invoice(amount=100.0)
        with self._at(DAY_0):
            enrollments = (kept | broken).collection_enroll(process_id=self.standard_process.id)
            enrollments[0].action_promise_to_pay(days(6), 100.0)
            enrollments[1].action_promise_to_pay(days(6), 100.0)
        with self._at(days(4)):
            self._pay(kept, day=days(4))
        for day in range(1, 8):
            self._run_engine(days(day))
        rate = self.env["collection.kpi"]._get_promise_kept_rate(
            self.env.company, date(2026, 3, 1), date(2026, 3, 31)
        )
        self.assertEqual(rate, 50.0)
