"""A simulated receivables ledger whose customers each pay their own way.

A seeded plan of a company's year: customers with a behaviour (punctual,
slow, erratic, getting worse, seasonal, disputing), some paying by a saved
card, some only after a reminder; their invoices, payments in full or in
parts, credit notes, the collections' reminders, promises kept and broken
and disputes. The plan is drawn first, in Python; then it is written day by
day through the ORM, each day at its own date, so that what the score reads
is what Odoo's books hold.
"""

import math
import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields

START = date(2025, 1, 6)
BEHAVIOURS = {
    # kind: share of customers
    "punctual": 0.34,
    "slow": 0.14,
    "erratic": 0.14,
    "worsening": 0.12,
    "seasonal": 0.12,
    "disputing": 0.14,
}
PAYMENT_TERMS = (14, 30, 30, 30, 45, 60)
# The collection's reminders, in days after the due date, while unpaid.
REMINDER_DAYS = ((3, "email"), (10, "activity"), (38, "email"))


@dataclass
class Customer:
    number: int
    behaviour: str
    usual_amount: float
    terms: int
    invoices_per_month: float
    saved_card: bool
    waits_for_reminder: bool
    partner: object = None
    # The months of an erratic customer's cash trouble.
    trouble_months: set = field(default_factory=set)


@dataclass
class PlannedInvoice:
    customer: Customer
    issued: date
    due: date
    amount: float
    paid: date | None = None
    # The day of a first part payment, when it is paid in two.
    first_part: date | None = None
    credit: tuple | None = None  # (day, amount)
    disputed: date | None = None
    promise: tuple | None = None  # (day, promised day, kept)
    move: object = None


class LedgerSimulation:
    def __init__(self, env, seed, customers, days):
        self.env = env
        self.seed = seed
        self.rng = random.Random(seed)
        self.customer_count = customers
        self.days = days
        self.end = START + timedelta(days=days)

    # -- the plan ----------------------------------------------------------

    def plan(self):
        self.customers = [self._draw_customer(number) for number in range(self.customer_count)]
        self.invoices = [invoice for customer in self.customers for invoice in self._draw_invoices(customer)]
        return self.invoices

    def _draw_customer(self, number):
        rng = self.rng
        behaviour = rng.choices(list(BEHAVIOURS), weights=list(BEHAVIOURS.values()))[0]
        customer = Customer(
            number=number,
            behaviour=behaviour,
            usual_amount=round(math.exp(rng.gauss(6.8, 0.8)), 2),
            terms=rng.choice(PAYMENT_TERMS),
            invoices_per_month=rng.uniform(0.6, 3.0),
            saved_card=rng.random() < 0.15,
            waits_for_reminder=rng.random() < 0.25,
        )
        if behaviour == "erratic":
            in_trouble = False
            for month in range(self.days // 30 + 2):
                in_trouble = rng.random() < (0.6 if in_trouble else 0.15)
                if in_trouble:
                    customer.trouble_months.add(month)
        return customer

    def _draw_invoices(self, customer):
        rng = self.rng
        day = START + timedelta(days=rng.randint(0, 20))
        invoices = []
        while day < self.end:
            amount = round(customer.usual_amount * math.exp(rng.gauss(0, 0.45)), 2)
            if rng.random() < 0.08:
                amount = round(amount * rng.uniform(3, 8), 2)
            invoice = PlannedInvoice(customer, day, day + timedelta(days=customer.terms), amount)
            self._draw_settlement(invoice)
            invoices.append(invoice)
            day += timedelta(days=max(1, round(rng.expovariate(customer.invoices_per_month / 30))))
        return invoices

    def _draw_delay(self, invoice):
        """Days from the due date to the payment, by the customer's behaviour."""
        rng = self.rng
        customer = invoice.customer
        progress = (invoice.issued - START).days / self.days
        big = invoice.amount > 2.5 * customer.usual_amount
        behaviour = customer.behaviour
        if behaviour == "punctual":
            delay = rng.gauss(-2, 3) if rng.random() > 0.04 else rng.uniform(15, 40)
        elif behaviour == "slow":
            delay = rng.gauss(20, 8)
        elif behaviour == "erratic":
            month = (invoice.due - START).days // 30
            delay = rng.uniform(20, 60) if month in customer.trouble_months else rng.gauss(3, 5)
            delay += rng.uniform(10, 30) if big else 0
        elif behaviour == "worsening":
            delay = rng.gauss(-4 + 50 * progress, 6)
        elif behaviour == "seasonal":
            month, day = invoice.due.month, invoice.due.day
            holidays = month in (7, 8) or (month == 12 and day >= 20) or (month == 1 and day <= 6)
            delay = rng.uniform(18, 45) if holidays else rng.gauss(0, 4)
        elif rng.random() < 0.3:
            invoice.disputed = invoice.issued + timedelta(days=rng.randint(2, 12))
            delay = rng.uniform(25, 70)
        else:
            delay = rng.gauss(2, 4)
        if customer.saved_card and behaviour in ("punctual", "seasonal"):
            delay = min(delay, rng.uniform(0, 2))
        if customer.waits_for_reminder and 3 <= delay < 12:
            delay = REMINDER_DAYS[0][0] + rng.uniform(1, 5)
        return delay

    def _draw_settlement(self, invoice):
        rng = self.rng
        delay = self._draw_delay(invoice)
        never = invoice.customer.behaviour in ("slow", "erratic") and rng.random() < 0.03
        paid = invoice.due + timedelta(days=round(delay))
        paid = max(paid, invoice.issued)
        invoice.paid = None if never or paid >= self.end else paid
        if rng.random() < 0.05:
            invoice.credit = (
                invoice.issued + timedelta(days=rng.randint(1, 10)),
                round(invoice.amount * rng.uniform(0.1, 0.3), 2),
            )
        if invoice.paid and rng.random() < 0.12:
            invoice.first_part = max(invoice.paid - timedelta(days=rng.randint(3, 15)), invoice.issued)
        if delay >= 10 and rng.random() < 0.35:
            promised_on = invoice.due + timedelta(days=rng.randint(5, 9))
            promised_day = promised_on + timedelta(days=rng.randint(3, 10))
            kept = bool(invoice.paid) and invoice.paid <= promised_day + timedelta(days=2)
            invoice.promise = (promised_on, promised_day, kept)

    # -- the books -------------------------------------------------------

    def write_books(self, process):
        """Write the plan day by day; return the invoices, now with their moves."""
        self.process = process
        self.bank_journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1
        )
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
            self._issue(day, issued)
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

    def _issue(self, day, invoices):
        moves = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": invoice.customer.partner.id,
                    "invoice_date": day,
                    "invoice_date_due": invoice.due,
                    "invoice_line_ids": [
                        fields.Command.create(
                            {"name": "Simulated goods", "price_unit": invoice.amount, "tax_ids": []}
                        )
                    ],
                }
                for invoice in invoices
            ]
        )
        moves.action_post()
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
        """Register the day's payments [(invoice, amount)] and reconcile each
        with its invoice. Payments made directly, not through the register
        wizard: its context names each invoice, and a long test transaction
        keeps every environment it makes (each later one costs more)."""
        records = self.env["account.payment"].create(
            [
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.customer.partner.id,
                    "amount": amount,
                    "date": day,
                    "journal_id": self.bank_journal.id,
                }
                for invoice, amount in payments
            ]
        )
        records.action_post()
        for (invoice, _amount), payment in zip(payments, records, strict=True):
            (payment.move_id.line_ids + invoice.move.line_ids).filtered(
                lambda line: line.account_type == "asset_receivable" and not line.reconciled
            ).reconcile()

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
