"""A simulated history of collections, checked every day.

A seeded random history drives the real models through the real engine:
customers and invoices issued daily; full, partial, early and late payments
(registered, and online through payment transactions); credit notes,
cancellations and reversals; promises kept and broken, disputes filed and
resolved, holds, manual pauses, cancellations and re-enrollments; late
charges invoiced by the final notice, paid, waived, reversed or left unpaid
after the invoice is paid; processes edited mid-flight and archived; engine
runs at random hours, twice a day or skipped for days, with failures injected
in some batches.

After every simulated day the invariants of the lifecycle are checked, and
each check that held is counted. A broken invariant raises with the seed and
the day, so the history can be replayed.
"""

import random
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError

from .common import register_payment
from .simulation_invariants import (
    ADDON,
    INVARIANTS,
    START,
    LifecycleInvariants,
)


def text_message_values(env):
    """The stage values of a text message: an SMS where the bridge
    collections_automation_sms is installed (make test installs it), else
    an email, so that the history keeps its contacts."""
    if "send_sms" in env["collection.stage"]._fields:
        return {
            "send_sms": True,
            "sms_template_id": env.ref("collections_automation_sms.sms_template_overdue").id,
        }
    return {"send_email": True, "mail_template_id": env.ref(f"{ADDON}.mail_template_overdue").id}


class InjectedFailure(Exception):
    """A failure the simulation injects into the engine's work."""


class LifecycleSimulation(LifecycleInvariants):
    """``run()`` plays ``days`` days of ``customers`` customers with ``seed``
    in the test case's environment, and returns the number of checks that
    held per invariant."""

    def __init__(self, case, seed, customers, days):
        self.case = case
        self.env = case.env
        self.seed = seed
        self.rng = random.Random(seed)
        self.customer_count = customers
        self.days = days
        self.checks = Counter()
        self.today = START
        # Payments the simulation made: [(invoice id, amount, date)].
        self.payments = []
        # Collections a person started again by hand, after the invoice was out.
        self.reenrolled_by_hand = set()
        self.failing_enrollments = set()
        self.known_enrollments = self.env["collection.enrollment"]

    # ------------------------------------------------------------------
    # The history
    # ------------------------------------------------------------------

    def run(self):
        self._setup()
        for offset in range(self.days):
            self.today = START + timedelta(days=offset)
            self._play_day()
            self._check_day()
        return self.checks

    @contextmanager
    def _at(self, hour=10, minute=0):
        moment = datetime.combine(self.today, datetime.min.time()) + timedelta(hours=hour, minutes=minute)
        with freeze_time(moment), patch.object(type(self.env.cr), "now", lambda _cr: moment):
            yield

    def _setup(self):
        self._set_up_company()
        self.standard = self._create_standard_process()
        self.card = self._create_card_process()
        card_tag = self.env["res.partner.category"].create({"name": "Simulated card on file"})
        self.env["collection.segment.rule"].create(
            {"name": "Cards", "sequence": 1, "process_id": self.card.id, "partner_category_ids": card_tag.ids}
        )
        self.env.company.collection_default_process_id = self.standard
        self._create_customers(card_tag)

    def _set_up_company(self):
        # The defaults a new company has: at most one message a day and three a
        # week per customer, none on weekends and public holidays.
        self.env.company.write(
            {
                "collection_auto_enroll": True,
                "collection_retry_schedule": "2",
                "collection_contact_max_per_day": 1,
                "collection_contact_max_per_week": 3,
                "collection_quiet_days": True,
            }
        )

    def _create_standard_process(self):
        """Reminder, call, final notice that charges the late fees; one email
        per customer; the company's default."""
        env = self.env
        template = env.ref(f"{ADDON}.mail_template_overdue")
        final_template = env.ref(f"{ADDON}.mail_template_final_notice")
        self.late_charges = env["collection.late.charge.rule"].create(
            {
                "name": "Simulated terms of sale",
                "preset": "contractual",
                "compensation_type": "fixed",
                "compensation_amount": 15.0,
                "auto_post": True,
            }
        )
        return env["collection.process"].create(
            {
                "name": "Simulated standard",
                "late_charge_rule_id": self.late_charges.id,
                "consolidate": True,
                "auto_enroll_overdue": True,
                "grace_days": 3,
                "escalation_delay_days": 7,
                "escalation_activity_type_id": env.ref("mail.mail_activity_data_todo").id,
                "stage_ids": [
                    fields.Command.create(
                        {
                            "name": "Reminder",
                            "sequence": 10,
                            "delay_days": 3,
                            "send_email": True,
                            "mail_template_id": template.id,
                        }
                    ),
                    fields.Command.create(
                        {
                            "name": "Call",
                            "sequence": 20,
                            "delay_days": 5,
                            "delay_from": "previous_stage",
                            "create_activity": True,
                        }
                    ),
                    fields.Command.create(
                        {
                            "name": "Final notice",
                            "sequence": 30,
                            "delay_days": 30,
                            "charge_late_fees": True,
                            "send_email": True,
                            "mail_template_id": final_template.id,
                        }
                    ),
                ],
            }
        )

    def _create_card_process(self):
        """Heads-up before the due date, a card charge with its retries, an
        SMS that escalates, a final notice."""
        env = self.env
        friendly = env.ref(f"{ADDON}.mail_template_friendly_reminder")
        final_template = env.ref(f"{ADDON}.mail_template_final_notice")
        return env["collection.process"].create(
            {
                "name": "Simulated card on file",
                "consolidate": False,
                "auto_enroll_pre_due": True,
                "pre_due_days": 3,
                "escalation_delay_days": 0,
                "retry_schedule": "2",
                "stage_ids": [
                    fields.Command.create(
                        {
                            "name": "Heads-up",
                            "sequence": 10,
                            "delay_days": -3,
                            "send_email": True,
                            "mail_template_id": friendly.id,
                        }
                    ),
                    fields.Command.create(
                        {"name": "Charge", "sequence": 20, "delay_days": 1, "retry_payment": True}
                    ),
                    fields.Command.create(
                        {
                            "name": "SMS",
                            "sequence": 30,
                            "delay_days": 6,
                            **text_message_values(env),
                            "escalate": True,
                        }
                    ),
                    fields.Command.create(
                        {
                            "name": "Final notice",
                            "sequence": 40,
                            "delay_days": 20,
                            "send_email": True,
                            "mail_template_id": final_template.id,
                        }
                    ),
                ],
            }
        )

    def _create_customers(self, card_tag):
        """One customer in three pays by a saved card (the demo provider's,
        which declines two charges in three)."""
        env = self.env
        company = env.company
        self.provider = env["payment.provider"].search(
            [("code", "=", "demo"), ("company_id", "=", company.id)], limit=1
        ) or env.ref("payment.payment_provider_demo").copy({"company_id": company.id})
        self.provider.write({"state": "test"})
        self.customers = env["res.partner"].create(
            [
                {
                    "name": f"Simulated customer {self.seed}-{number}",
                    "email": f"ap{number}@customer{self.seed}.example.com",
                    "phone": f"+32 470 {number:02d} {self.seed:02d} 00",
                    "category_id": card_tag.ids if number % 3 == 0 else [],
                }
                for number in range(self.customer_count)
            ]
        )
        for customer in self.customers.filtered("category_id"):
            env["payment.token"].create(
                {
                    "provider_id": self.provider.id,
                    "payment_method_id": env.ref("payment.payment_method_unknown").id,
                    "partner_id": customer.id,
                    "provider_ref": "demo",
                    "payment_details": "4242",
                    "demo_simulated_state": self.rng.choice(("done", "error", "error")),
                }
            )

    def _play_day(self):
        with self._at(hour=8):
            self._issue_invoices()
        with self._at(hour=9):
            self._pay_some_invoices()
            self._credit_and_cancel_some_invoices()
        with self._at(hour=11):
            self._customers_act()
            self._back_office_acts()
            if self.rng.random() < 0.04:
                self._edit_a_process()
        runs = self.rng.choices((0, 1, 2), weights=(15, 70, 15))[0]
        # Up to 20:59 UTC: 22:59 in Brussels in summer, still the same day.
        for hour in sorted(self.rng.sample(range(12, 21), runs)):
            self._run_engine(hour)

    # -- invoices and payments -------------------------------------------

    def _issue_invoices(self):
        values = []
        for customer in self.customers:
            if self.rng.random() < 0.04:
                due_in = self.rng.choice((0, 7, 14, 30))
                values.append(
                    {
                        "move_type": "out_invoice",
                        "partner_id": customer.id,
                        "invoice_date": self.today,
                        "invoice_date_due": self.today + timedelta(days=due_in),
                        "invoice_line_ids": [
                            fields.Command.create(
                                {
                                    "name": "Simulated goods",
                                    "price_unit": self.rng.randrange(100, 5000),
                                    "tax_ids": [],
                                }
                            )
                        ],
                    }
                )
        if values:
            self.env["account.move"].create(values).action_post()

    def _open_invoices(self):
        return self.env["account.move"].search(
            [
                ("partner_id", "in", self.customers.ids),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
            ],
            order="id",
        )

    def _pay_some_invoices(self):
        for invoice in self._open_invoices():
            overdue = invoice.invoice_date_due < self.today
            if self.rng.random() >= (0.05 if overdue else 0.015):
                continue
            residual = invoice.amount_residual
            amount = residual if self.rng.random() < 0.7 else round(residual * self.rng.uniform(0.2, 0.8), 2)
            if self.rng.random() < 0.25:
                self._pay_online(invoice, amount)
            else:
                register_payment(invoice, amount, self.today)
            # What the books reconciled with the invoice is the cash it got
            # (an online payment may wait for its bank statement).
            reconciled = invoice.currency_id.round(residual - invoice.amount_residual)
            if reconciled:
                self.payments.append((invoice.id, reconciled, self.today))
            self._check_paid_invoice_is_closed(invoice)

    def _pay_online(self, invoice, amount):
        transaction = self.env["payment.transaction"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "amount": amount,
                "currency_id": invoice.currency_id.id,
                "partner_id": invoice.partner_id.id,
                "invoice_ids": [fields.Command.set(invoice.ids)],
                "collection_enrollment_ids": [fields.Command.set(invoice.collection_enrollment_id.ids)],
            }
        )
        transaction._set_done()
        transaction._post_process()

    def _credit_and_cancel_some_invoices(self):
        for invoice in self._open_invoices():
            draw = self.rng.random()
            if draw < 0.004 and invoice.payment_state == "not_paid":
                # A full reversal: Odoo's "Credit Note" with cancellation. (Of a
                # partly paid invoice, it would hand its payments back to the
                # customer's account: they are no longer cash on the invoice.)
                invoice._reverse_moves([{"invoice_date": self.today}], cancel=True)
            elif draw < 0.008:
                self._post_credit_note(
                    invoice, round(invoice.amount_residual * self.rng.uniform(0.1, 0.5), 2)
                )
            elif draw < 0.011 and invoice.payment_state == "not_paid":
                invoice.button_draft()
                invoice.button_cancel()

    def _post_credit_note(self, invoice, amount):
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": invoice.partner_id.id,
                "invoice_date": self.today,
                "invoice_line_ids": [
                    fields.Command.create({"name": "Simulated credit", "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        credit_note.action_post()
        line = credit_note.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        invoice.js_assign_outstanding_line(line.id)
        return credit_note

    # -- what people do -----------------------------------------------

    def _open_enrollments(self):
        return self.env["collection.enrollment"].search(
            [("partner_id", "in", self.customers.ids), ("state", "in", ("running", "paused", "escalated"))],
            order="id",
        )

    def _customers_act(self):
        for enrollment in self._open_enrollments():
            draw = self.rng.random()
            if draw < 0.02 and enrollment.pause_reason != "dispute":
                self._try(
                    enrollment.action_promise_to_pay,
                    self.today + timedelta(days=self.rng.randint(1, 14)),
                    round(enrollment.amount_residual * self.rng.choice((1.0, 1.0, 0.5)), 2),
                )
            elif draw < 0.03 and enrollment.pause_reason != "dispute":
                self._try(enrollment.action_dispute, "wrong_amount", "The amount is not what we agreed.")

    def _back_office_acts(self):
        for enrollment in self._open_enrollments():
            draw = self.rng.random()
            if enrollment.pause_reason == "dispute" and draw < 0.15:
                self._resolve_dispute(enrollment)
            elif enrollment.state == "running" and draw < 0.006:
                self._try(enrollment.action_pause)
            elif enrollment.state == "paused" and enrollment.pause_reason == "manual" and draw < 0.15:
                self._try(enrollment.action_resume)
            elif draw < 0.003:
                self._try(enrollment.action_cancel)
        self._waive_some_charges()
        for customer in self.customers:
            if self.rng.random() < 0.003:
                customer.collection_hold = not customer.collection_hold
        for invoice in self._open_invoices():
            if self.rng.random() < 0.001:
                invoice.no_followup = not invoice.no_followup
        out = self._open_invoices().filtered(
            lambda invoice: invoice.collection_enrollment_ids
            and not invoice.collection_enrollment_ids.filtered(lambda e: e.state in ("running", "paused"))
            and invoice.collection_enrollment_ids.filtered_domain(
                self.env["collection.enrollment"]._get_no_reenrollment_domain()
            )
        )
        for invoice in out:
            if self.rng.random() < 0.02:
                enrollments = self._try(invoice.collection_enroll, reenroll=True)
                if enrollments:
                    self.reenrolled_by_hand.update(enrollments.ids)

    def _waive_some_charges(self):
        # Unpaid ones: the wizard refuses a partly paid charge.
        for charge in self._open_invoices().filtered(
            lambda move: move.collection_late_invoice_id and move.payment_state == "not_paid"
        ):
            if self.rng.random() < 0.02:
                wizard = self.env["collection.late.charge.waive"].create(
                    {"move_ids": charge.ids, "reason": "Simulated goodwill"}
                )
                self._try(wizard.action_waive)

    def _resolve_dispute(self, enrollment):
        outcome = self.rng.choice(("resume", "resume", "credit_note", "write_off"))
        credit_note = None
        if outcome == "credit_note":
            if not enrollment.move_id:
                outcome = "resume"
            else:
                credit_note = self.env["account.move"].create(
                    {
                        "move_type": "out_refund",
                        "partner_id": enrollment.move_id.partner_id.id,
                        "invoice_date": self.today,
                        "invoice_line_ids": [
                            fields.Command.create(
                                {
                                    "name": "Dispute settled",
                                    "price_unit": round(enrollment.amount_residual * 0.3, 2),
                                    "tax_ids": [],
                                }
                            )
                        ],
                    }
                )
                credit_note.action_post()
        self._try(
            enrollment.action_resolve_dispute, outcome, note="Simulated outcome", credit_note=credit_note
        )

    def _try(self, method, *args, **kwargs):
        """What a person does may be refused with a message; that is part
        of the history, and nothing changes."""
        try:
            with self.env.cr.savepoint():
                return method(*args, **kwargs)
        except (UserError, ValidationError):
            return None

    def _edit_a_process(self):
        process = self.rng.choice((self.standard, self.card))
        stages = process.stage_ids.sorted(lambda stage: (stage.sequence, stage.id))
        draw = self.rng.random()
        if draw < 0.35:
            self._try(
                process.write,
                {
                    "stage_ids": [
                        fields.Command.create(
                            {
                                "name": f"Added on {self.today}",
                                "sequence": self.rng.randint(1, 50),
                                "delay_days": self.rng.randint(0, 10),
                                "delay_from": "previous_stage",
                                "send_email": True,
                                "mail_template_id": self.env.ref(f"{ADDON}.mail_template_overdue").id,
                            }
                        )
                    ]
                },
            )
        elif draw < 0.6 and len(stages) > 2:
            self._try(self.rng.choice(stages).unlink)
        elif draw < 0.85:
            self._try(self.rng.choice(stages).write, {"sequence": self.rng.randint(1, 50)})
        else:
            self._try(process.write, {"active": not process.active})

    # -- the engine ---------------------------------------------------

    def _run_engine(self, hour):
        Enrollment = self.env["collection.enrollment"]
        with self._at(hour=hour, minute=self.rng.randint(0, 59)):
            before = self._snapshot()
            last_event = self.env["collection.event"].search([], order="id desc", limit=1).id or 0
            last_message = self.env["mail.message"].search([], order="id desc", limit=1).id or 0
            existing = Enrollment.search([("partner_id", "in", self.customers.ids)])
            failing = set()
            if self.rng.random() < 0.1:
                due = Enrollment.search(
                    [("partner_id", "in", self.customers.ids), ("state", "=", "running")], order="id"
                )
                failing = set(self.rng.sample(due.ids, min(len(due), 3)))
            residuals = {invoice.id: invoice.amount_residual for invoice in self._open_invoices()}
            with self._injected_failures(failing):
                self.env["collection.engine"]._cron_run()
                self.env.flush_all()
            # The engine's payment retries are cash too.
            for invoice in self.env["account.move"].browse(residuals):
                charged = invoice.currency_id.round(residuals[invoice.id] - invoice.amount_residual)
                if charged:
                    self.payments.append((invoice.id, charged, self.today))
            # The run's events of this history's customers: another history
            # in another company of the database is checked by its own.
            new_events = self.env["collection.event"].search(
                [("id", ">", last_event), ("partner_id", "in", self.customers.ids)]
            )
            created = Enrollment.search([("partner_id", "in", self.customers.ids)]) - existing
            self._check_run(before, new_events, last_message, created)

    @contextmanager
    def _injected_failures(self, enrollment_ids):
        """Make the engine fail on some enrollments' stage actions."""
        if not enrollment_ids:
            yield
            return
        Engine = type(self.env["collection.engine"])
        original = Engine._run_groups

        def run_groups(engine, groups):
            for _stage, group in groups:
                if set(group.ids) & enrollment_ids:
                    raise InjectedFailure("injected by the simulation")
            return original(engine, groups)

        with patch.object(Engine, "_run_groups", run_groups):
            yield

    # ------------------------------------------------------------------
    # Invariants
    # ------------------------------------------------------------------


def format_report(results, customers, days):
    """The table of invariants with the checks each passed, for a list of
    (seed, Counter) results of simulations that all held."""
    seeds = [seed for seed, _checks in results]
    lines = [
        f"Simulated {days} days of {customers} customers, seeds {', '.join(map(str, seeds))}",
        "invariant | " + " | ".join(f"seed {seed}" for seed in seeds) + " | held",
        "---|" + "---:|" * len(seeds) + "---",
    ]
    for number, text in INVARIANTS.items():
        counts = [checks[number] for _seed, checks in results]
        verdict = "yes" if all(counts) else "not checked"
        lines.append(f"{number}. {text} | " + " | ".join(str(count) for count in counts) + f" | {verdict}")
    return "\n".join(lines)
