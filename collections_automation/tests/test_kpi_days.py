import random
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.collection_kpi_day import LIVE_DAYS
from .common import DAY_0, CollectionsCommon, days

HISTORY_DAYS = 110
# The nights the KPI refresh keeps the days, and the days the kept figures
# are compared with the ledger's.
KEEP_DAYS = (30, 50, 70, 90, 104)
COMPARE_DAYS = (60, 95, 104, 109)


@tagged("post_install", "-at_install")
class TestKeptKpiDays(CollectionsCommon):
    """The KPIs read from the days kept (collection.kpi.day) are those
    computed from the ledger, through histories of collections where
    payments are registered late and dated back, reconciliations are
    undone, invoices and credit notes are posted on past days and events are
    deleted after the days were kept."""

    def _random_history(self, rng):
        """Invoices enrolled on their due dates, paid in part or in full on
        random days, some payments dated weeks back, and on set days a
        late change that reaches kept days; the engine runs every day and
        the refresh keeps the days on KEEP_DAYS. Yields each day once it
        ran."""
        invoices = [
            self._create_invoice(
                amount=rng.choice((300.0, 1000.0, 2500.0)), due_date=days(rng.randrange(0, 40))
            )
            for _invoice in range(10)
        ]
        # One invoice is enrolled late, from a past day: a payment made before
        # counts in its collection's cash collected.
        late_enrolled = self._create_invoice(amount=900.0, due_date=days(5))
        payments = {20: [(late_enrolled, 0.4, 0)]}
        for invoice in invoices:
            for _payment in range(rng.choice((0, 1, 1, 2))):
                paid_on = rng.randrange(5, HISTORY_DAYS - 5)
                dated_back = rng.choice((0, 0, rng.randrange(20, 45)))
                payments.setdefault(paid_on, []).append((invoice, rng.choice((0.3, 0.5, 1.0)), dated_back))
        late_changes = {
            75: self._undo_an_old_reconciliation,
            80: self._post_an_invoice_on_a_past_day,
            85: self._credit_an_invoice_on_a_past_day,
            88: self._delete_an_old_stage_run,
            92: lambda _rng, _day: late_enrolled.collection_enroll(
                process_id=self.standard_process.id, start_date=days(10)
            ),
            98: self._delete_an_old_collection,
            100: lambda _rng, _day: self.call_stage.unlink(),
            102: self._redate_an_old_payment,
            106: self._undo_an_old_reconciliation,
        }
        for day in range(HISTORY_DAYS):
            with self._at(days(day)):
                for invoice in invoices:
                    if invoice.invoice_date_due == days(day) and invoice.amount_residual:
                        invoice.collection_enroll(process_id=self.standard_process.id)
                for invoice, share, dated_back in payments.get(day, []):
                    if invoice.amount_residual:
                        amount = invoice.currency_id.round(
                            min(invoice.amount_residual, invoice.amount_total * share)
                        )
                        self._pay(invoice, amount=amount, day=days(day - dated_back))
                if day in late_changes:
                    late_changes[day](rng, day)
            self._run_engine(days(day))
            if day in KEEP_DAYS:
                with self._at(days(day), hour=23):
                    self.Day._keep_days(self.env.company)
            yield day

    def _old_enough(self, day):
        return days(day) - timedelta(days=LIVE_DAYS + 1)

    def _undo_an_old_reconciliation(self, rng, day):
        partials = self.env["account.partial.reconcile"].search(
            [("max_date", "<", self._old_enough(day)), ("company_id", "=", self.env.company.id)]
        )
        if partials:
            rng.choice(partials).unlink()

    def _post_an_invoice_on_a_past_day(self, rng, day):
        self._create_invoice(amount=700.0, due_date=days(day - 40), date=days(day - 70))

    def _credit_an_invoice_on_a_past_day(self, rng, day):
        open_invoices = self.env["account.move"].search(
            [("move_type", "=", "out_invoice"), ("amount_residual", ">", 100.0), ("state", "=", "posted")]
        )
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": self.customer.id,
                "invoice_date": days(day - 50),
                "date": days(day - 50),
                "invoice_line_ids": [
                    fields.Command.create({"name": "Goodwill", "price_unit": 100.0, "tax_ids": []})
                ],
            }
        )
        credit_note.action_post()
        line = credit_note.line_ids.filtered(lambda line: line.display_type == "payment_term")
        rng.choice(open_invoices).js_assign_outstanding_line(line.id)

    def _delete_an_old_stage_run(self, rng, day):
        runs = self.env["collection.event"].search(
            [
                ("action", "=", "email"),
                ("stage_id", "!=", False),
                ("date", "<", fields.Datetime.to_datetime(self._old_enough(day))),
            ]
        )
        if runs:
            rng.choice(runs).unlink()

    def _redate_an_old_payment(self, rng, day):
        # Reset to draft, a payment keeps its reconciliations, whose date
        # follows its own.
        payments = self.env["account.payment"].search(
            [("date", "<", self._old_enough(day)), ("state", "!=", "draft")]
        )
        payment = rng.choice(payments)
        payment.action_draft()
        payment.date -= timedelta(days=9)
        payment.action_post()

    def _delete_an_old_collection(self, rng, day):
        collections = self.env["collection.enrollment"].search([("enrolled_on", "<", self._old_enough(day))])
        rng.choice(collections).sudo().unlink()

    def _assert_kept_days_are_the_ledger_s(self, day):
        today = days(day)
        periods = [
            (DAY_0 - timedelta(days=10), today),
            (today - timedelta(days=90), today),
            (today - timedelta(days=60), today - timedelta(days=20)),
            (today.replace(day=1) - timedelta(days=31), today.replace(day=1) - timedelta(days=1)),
        ]
        Kpi = self.env["collection.kpi"]
        with self._at(today, hour=23):
            kept = [Kpi._get_kpis(self.env.company, *period) for period in periods]
            with self.env.cr.savepoint() as savepoint:
                self.Day.sudo().search([]).unlink()
                from_ledger = [Kpi._get_kpis(self.env.company, *period) for period in periods]
                savepoint.close(rollback=True)
            self.env.invalidate_all()
        for period, kept_kpis, ledger_kpis in zip(periods, kept, from_ledger, strict=True):
            self.assertEqual(self._rounded(kept_kpis), self._rounded(ledger_kpis), f"day {day}: {period}")

    def _rounded(self, kpis):
        def rounded(value):
            if isinstance(value, dict):
                return {key: rounded(item) for key, item in value.items() if item}
            return round(value, 2) if isinstance(value, float) else value

        return {name: rounded(value) for name, value in kpis.items()}

    def _play(self, seed):
        self.Day = self.env["collection.kpi.day"]
        kept_days = stale_days = 0
        for day in self._random_history(random.Random(seed)):
            if day in COMPARE_DAYS:
                self._assert_kept_days_are_the_ledger_s(day)
                kept_days = max(
                    kept_days, self.Day.search_count([("kind", "=", "company"), ("stale", "=", False)])
                )
                stale_days = max(stale_days, self.Day.search_count([("stale", "=", True)]))
        # The comparisons read kept days, and late changes marked some stale.
        self.assertGreater(kept_days, 60)
        self.assertGreater(stale_days, 0)

    def test_kept_days_are_the_ledger_s_first_history(self):
        self._play(1)

    def test_kept_days_are_the_ledger_s_second_history(self):
        self._play(2)
