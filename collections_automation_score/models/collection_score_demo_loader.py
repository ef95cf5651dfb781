import math
from datetime import timedelta

from odoo import api, fields, models

from ..scoring.ledger_plan import LedgerPlan

# The demo customers' year of invoices and payments before the add-on's own
# demo invoices, so that the payment score learns from a history as a
# company's would be: each customer pays its own way (scoring/ledger_plan.py).
DEMO_HISTORY_DAYS = 365
DEMO_HISTORY_SEED = 19
# The history agrees with the desk: a customer whose most overdue invoice is
# at most this many days overdue pays on time, or late in the holidays; the
# others pay slowly, later and later, or dispute, in turn.
DEMO_PUNCTUAL_OVERDUE_DAYS = 5
DEMO_SEASONAL_OVERDUE_DAYS = 20
DEMO_LATE_BEHAVIOURS = ("slow", "worsening", "disputing")


class CollectionScoreDemoLoader(models.AbstractModel):
    _name = "collection.score.demo.loader"
    _description = "Payment score demo data loader"

    @api.model
    def _load_demo_history(self):
        """Write a year of the demo customers' paid invoices, then train the
        score, score every customer and keep this week's cash-in forecast,
        as the nightly scheduled action does, and compute the KPI trends
        again."""
        company = self.env.company
        customers = self.env["collection.demo.loader"]._get_demo_customers()
        today = company._get_collection_today()
        plan = LedgerPlan(
            DEMO_HISTORY_SEED,
            len(customers),
            DEMO_HISTORY_DAYS,
            start=today - timedelta(days=DEMO_HISTORY_DAYS),
        )
        plan.plan(known=self._get_demo_known_facts(customers, today))
        # What is still unpaid today is the desk's: the add-on's demo invoices.
        paid = sorted(
            (invoice for invoice in plan.invoices if invoice.paid and invoice.paid < today),
            key=lambda invoice: invoice.issued,
        )
        invoices = self._post_planned_invoices(paid, customers)
        self._register_payments(
            [(move, move.amount_residual, invoice.paid) for move, invoice in zip(invoices, paid, strict=True)]
        )
        # The history changed the past months: the KPI trends count it too.
        Periods = self.env["collection.kpi.period"]
        Periods.search([("company_id", "=", company.id)]).unlink()
        Periods._refresh(company)
        Score = self.env["collection.score.model"]
        Score._train(company, today)
        Score._score_customers(company, today=today)
        self.env["collection.score.forecast"]._refresh(company, today)
        return invoices

    @api.model
    def _get_demo_known_facts(self, customers, today):
        """Each demo customer's usual invoice (its segment's), terms (its
        own) and way of paying (as its open invoices tell), by number in the
        plan."""
        open_invoices = self.env["account.move"].search(
            [
                ("partner_id", "in", customers.ids),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
            ]
        )
        by_customer = open_invoices.grouped("partner_id")
        known = {}
        late_customers = 0
        for number, customer in enumerate(customers):
            low, high = self.env["collection.demo.loader"]._get_demo_amount_range(customer)
            terms = customer.property_payment_term_id.line_ids.mapped("nb_days")
            due_dates = by_customer.get(customer, open_invoices.browse()).mapped("invoice_date_due")
            overdue = max([(today - due).days for due in due_dates] + [0])
            if overdue <= DEMO_PUNCTUAL_OVERDUE_DAYS:
                behaviour = "punctual"
            elif overdue <= DEMO_SEASONAL_OVERDUE_DAYS:
                behaviour = "seasonal"
            else:
                behaviour = DEMO_LATE_BEHAVIOURS[late_customers % len(DEMO_LATE_BEHAVIOURS)]
                late_customers += 1
            known[number] = {
                "usual_amount": round(math.sqrt(low * high), -1),
                "terms": max(terms or [0]),
                "behaviour": behaviour,
            }
        return known

    @api.model
    def _post_planned_invoices(self, planned, partners):
        """Post the customer invoices of ``planned`` (ledger_plan's planned
        invoices), each to the partner of its customer's number in
        ``partners``; the invoices, in the same order."""
        invoices = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partners[invoice.customer.number].id,
                    "invoice_date": invoice.issued,
                    "invoice_date_due": invoice.due,
                    "invoice_line_ids": [
                        fields.Command.create(
                            {"name": "Product delivery", "price_unit": invoice.amount, "tax_ids": []}
                        )
                    ],
                }
                for invoice in planned
            ]
        )
        invoices.action_post()
        return invoices

    @api.model
    def _register_payments(self, payments):
        """Register payments [(invoice, amount, day)] and reconcile each with
        its invoice. Made directly, not through the register wizard: its
        context names each invoice, and one long transaction (an install,
        a simulation) keeps every environment it makes, each later one
        costing more."""
        if not payments:
            return self.env["account.payment"]
        company = payments[0][0].company_id
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        records = self.env["account.payment"].create(
            [
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.commercial_partner_id.id,
                    "amount": amount,
                    "date": day,
                    "journal_id": journal.id,
                }
                for invoice, amount, day in payments
            ]
        )
        records.action_post()
        for (invoice, _amount, _day), payment in zip(payments, records, strict=True):
            (payment.move_id.line_ids + invoice.line_ids).filtered(
                lambda line: line.account_type == "asset_receivable" and not line.reconciled
            ).reconcile()
        return records
