"""The plan of a company's receivables year (scoring/ledger_plan.py)
written into Odoo's books day by day, each day at its own date and through
the ORM, with the collections' reminders, promises and disputes: what the
score reads is what Odoo's books hold.
"""

from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields

from ..scoring.ledger_plan import REMINDER_DAYS, START, LedgerPlan

__all__ = ["START", "LedgerSimulation"]


class LedgerSimulation(LedgerPlan):
    def __init__(self, env, seed, customers, days):
        super().__init__(seed, customers, days)
        self.env = env

    # -- the books -------------------------------------------------------

    def write_books(self, process):
        """Write the plan day by day; return the invoices, now with their moves."""
        self.process = process
        self._create_partners()
        agenda = defaultdict(list)
        for invoice in self.invoices:
            agenda[invoice.issued].append(("issue", invoice))
            if invoice.credit and invoice.credit[0] < self.end:
                agenda[invoice.credit[0]].append(("credit", invoice))
            if invoice.disputed and invoice.disputed < self.end:
                agenda[invoice.disputed].append(("dispute", invoice))
            for after, action in REMINDER_DAYS:
                day = invoice.due + timedelta(days=after)
                if day < self.end and (not invoice.paid or invoice.paid > day):
                    agenda[day].append((action, invoice))
            if invoice.promise and invoice.promise[0] < self.end:
                agenda[invoice.promise[0]].append(("promise", invoice))
                outcome_day = min(invoice.paid or invoice.promise[1], invoice.promise[1]) + timedelta(days=3)
                if outcome_day < self.end:
                    agenda[outcome_day].append(("promise_outcome", invoice))
            if invoice.paid:
                if invoice.first_part:
                    agenda[invoice.first_part].append(("part", invoice))
                agenda[invoice.paid].append(("pay", invoice))
        for day in sorted(agenda):
            with self._at(day):
                self._play(day, agenda[day])
        return self.invoices

    @contextmanager
    def _at(self, day):
        moment = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
        with freeze_time(moment), patch.object(type(self.env.cr), "now", lambda _cr: moment):
            yield

    def _create_partners(self):
        partners = self.env["res.partner"].create(
            [
                {"name": f"Ledger customer {self.seed}-{customer.number}", "is_company": True}
                for customer in self.customers
            ]
        )
        for customer, partner in zip(self.customers, partners, strict=True):
            customer.partner = partner
        company = self.env.company
        provider = self.env["payment.provider"].search(
            [("code", "=", "demo"), ("company_id", "=", company.id)], limit=1
        ) or self.env.ref("payment.payment_provider_demo").sudo().copy({"company_id": company.id}).sudo(False)
        self.env["payment.token"].create(
            [
                {
                    "provider_id": provider.id,
                    "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                    "partner_id": customer.partner.id,
                    "provider_ref": "demo",
                    "payment_details": "4242",
                }
                for customer in self.customers
                if customer.saved_card
            ]
        )

    def _play(self, day, actions):
        by_kind = defaultdict(list)
        for kind, invoice in actions:
            by_kind[kind].append(invoice)
        if issued := by_kind["issue"]:
            self._issue(issued)
        for invoice in by_kind["credit"]:
            self._credit(day, invoice)
        if parts := [invoice for invoice in by_kind["part"] if invoice.move.amount_residual > 1]:
            self._pay(
                day,
                [
                    (invoice, round(invoice.move.amount_residual * self.rng.uniform(0.3, 0.7), 2))
                    for invoice in parts
                ],
            )
        for kind in ("dispute", "email", "activity", "promise", "promise_outcome"):
            for invoice in by_kind[kind]:
                self._log(day, kind, invoice)
        if paid := [invoice for invoice in by_kind["pay"] if invoice.move.amount_residual > 0]:
            self._pay(day, [(invoice, invoice.move.amount_residual) for invoice in paid])

    def _issue(self, invoices):
        partners = self.env["res.partner"].concat(*(customer.partner for customer in self.customers))
        moves = self.env["collection.score.demo.loader"]._post_planned_invoices(invoices, partners)
        for invoice, move in zip(invoices, moves, strict=True):
            invoice.move = move

    def _credit(self, day, invoice):
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": invoice.customer.partner.id,
                "invoice_date": day,
                "invoice_line_ids": [
                    fields.Command.create(
                        {"name": "Simulated credit", "price_unit": invoice.credit[1], "tax_ids": []}
                    )
                ],
            }
        )
        credit_note.action_post()
        line = credit_note.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        invoice.move.js_assign_outstanding_line(line.id)

    def _pay(self, day, payments):
        """Register the day's payments [(invoice, amount)]."""
        self.env["collection.score.demo.loader"]._register_payments(
            [(invoice.move, amount, day) for invoice, amount in payments]
        )

    def _enrollment(self, invoice):
        enrollment = invoice.move.collection_enrollment_id
        if not enrollment and invoice.move.amount_residual > 0:
            enrollment = invoice.move.collection_enroll(process_id=self.process.id)
        return enrollment

    def _log(self, day, kind, invoice):
        enrollment = self._enrollment(invoice)
        if not enrollment:
            return
        if kind == "promise_outcome":
            kind = "promise_kept" if invoice.promise[2] else "promise_broken"
        enrollment._log_event(kind, message="Simulated")
