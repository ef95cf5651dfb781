"""A company's receivables year, drawn from a seed: customers who each pay
their own way (punctual, slow, erratic, getting worse, seasonal, disputing),
some by a saved card, some only after a reminder; their invoices, payments
in full or in parts, credit notes, promises kept and broken, disputes.

A plan in plain Python, no Odoo: the demo writes one into its books
(models/collection_score_demo_loader.py), and the tests and ``make
score-eval`` write others day by day (tests/ledger_simulation.py).
"""

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

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


class LedgerPlan:
    def __init__(self, seed, customers, days, start=START):
        self.seed = seed
        self.rng = random.Random(seed)
        self.customer_count = customers
        self.days = days
        self.start = start
        self.end = start + timedelta(days=days)

    def plan(self, known=None):
        """Draw the customers, then their invoices. ``known``: {customer
        number: {Customer attribute: value}}, what is known of a customer
        (its usual amount, its terms) rather than drawn."""
        self.customers = [self._draw_customer(number) for number in range(self.customer_count)]
        for number, facts in (known or {}).items():
            for name, value in facts.items():
                setattr(self.customers[number], name, value)
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
        day = self.start + timedelta(days=rng.randint(0, 20))
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
        progress = (invoice.issued - self.start).days / self.days
        big = invoice.amount > 2.5 * customer.usual_amount
        behaviour = customer.behaviour
        if behaviour == "punctual":
            delay = rng.gauss(-2, 3) if rng.random() > 0.04 else rng.uniform(15, 40)
        elif behaviour == "slow":
            delay = rng.gauss(20, 8)
        elif behaviour == "erratic":
            month = (invoice.due - self.start).days // 30
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
