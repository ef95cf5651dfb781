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
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

ADDON = "collections_automation"
# A Monday in a year with no leap day: weeks and months read naturally.
START = date(2027, 1, 4)
INVARIANTS = {
    1: "no stage action twice in a cycle; one email per customer, stage and run",
    2: "nobody contacted or charged while paid, cancelled, disputed, promised, held or excluded",
    3: "at most one open collection per invoice; no trigger re-enrollment after escalation, "
    "user cancellation or write-off",
    4: "an invoice paid in full with its late charges has no open collection, in the payment's transaction",
    5: "cash collected equals the payments on enrolled invoices and their charges while enrolled, to "
    "the cent",
    6: "no customer gets more messages than the contact cap allows",
    7: "every due action runs at the first engine run after it falls due, or the log says why",
    8: "late charges: one stage run per charge invoice, never a collection of their own; a collection owes "
    "its invoice's and its posted charges' residual",
}
STAGE_ACTIONS = ("email", "sms", "letter", "activity", "payment_retry", "late_charge")
CONTACT_ACTIONS = ("email", "sms", "letter")


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


class InvariantBroken(AssertionError):
    pass


class InjectedFailure(Exception):
    """A failure the simulation injects into the engine's work."""


class LifecycleSimulation:
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
        env = self.env
        company = env.company
        # The defaults a new company has: at most one message a day and three a
        # week per customer, none on weekends and public holidays.
        company.write(
            {
                "collection_auto_enroll": True,
                "collection_retry_schedule": "2",
                "collection_contact_max_per_day": 1,
                "collection_contact_max_per_week": 3,
                "collection_quiet_days": True,
            }
        )
        template = env.ref(f"{ADDON}.mail_template_overdue")
        final_template = env.ref(f"{ADDON}.mail_template_final_notice")
        friendly = env.ref(f"{ADDON}.mail_template_friendly_reminder")
        self.late_charges = env["collection.late.charge.rule"].create(
            {
                "name": "Simulated terms of sale",
                "preset": "contractual",
                "compensation_type": "fixed",
                "compensation_amount": 15.0,
                "auto_post": True,
            }
        )
        self.standard = env["collection.process"].create(
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
        self.card = env["collection.process"].create(
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
        card_tag = env["res.partner.category"].create({"name": "Simulated card on file"})
        env["collection.segment.rule"].create(
            {"name": "Cards", "sequence": 1, "process_id": self.card.id, "partner_category_ids": card_tag.ids}
        )
        company.collection_default_process_id = self.standard
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
                self._register_payment(invoice, amount)
            # What the books reconciled with the invoice is the cash it got
            # (an online payment may wait for its bank statement).
            reconciled = invoice.currency_id.round(residual - invoice.amount_residual)
            if reconciled:
                self.payments.append((invoice.id, reconciled, self.today))
            self._check_paid_invoice_is_closed(invoice)

    def _register_payment(self, invoice, amount):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": amount, "payment_date": self.today})._create_payments()

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
            new_events = self.env["collection.event"].search([("id", ">", last_event)])
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

    def _fail(self, number, detail):
        raise InvariantBroken(
            f"seed {self.seed}, day {(self.today - START).days} ({self.today}): invariant {number} "
            f"({INVARIANTS[number]}) broken: {detail}"
        )

    def _held(self, number, condition, detail):
        if not condition:
            self._fail(number, detail)
        self.checks[number] += 1

    def _snapshot(self):
        """What each open collection was before an engine run: whether the
        customer may be contacted or charged then."""
        enrollments = self._open_enrollments()
        snapshot = {}
        for enrollment in enrollments:
            blocked = []
            if enrollment.state == "escalated":
                blocked.append("escalated")
            # The engine's own day, in the company's time zone.
            today = enrollment._company_today()
            customer_or_invoice = self._blocked_by_customer_or_invoice(enrollment)
            ends_now = (
                enrollment.pause_until
                and enrollment.pause_reason != "dispute"
                and enrollment._get_pause_end() <= today
            ) or (enrollment.pause_reason == "hold" and not customer_or_invoice)
            if enrollment.state == "paused" and not ends_now:
                blocked.append(f"paused ({enrollment.pause_reason})")
            snapshot[enrollment.id] = blocked + customer_or_invoice
        return snapshot

    def _blocked_by_customer_or_invoice(self, enrollment):
        invoice = enrollment.move_id
        blocked = []
        if enrollment.partner_id.commercial_partner_id.collection_hold:
            blocked.append("customer on hold")
        if invoice and invoice.no_followup:
            blocked.append("excluded from follow-up")
        # Paid, its late charges may still be due in its collection.
        closed = invoice and (
            invoice.state != "posted" or invoice.payment_state not in ("not_paid", "partial")
        )
        if closed and not (invoice.state == "posted" and self._charges_due(invoice)):
            blocked.append(f"invoice {invoice.state} {invoice.payment_state}")
        return blocked

    def _describe_charges(self, invoice):
        return [(c.name, c.payment_state, c.amount_residual) for c in invoice.collection_charge_move_ids]

    def _charges_due(self, invoice):
        return invoice.collection_charge_move_ids.filtered(
            lambda move: move.state == "posted" and move.amount_residual
        )

    def _check_run(self, before, new_events, last_message, created):
        acted = new_events.filtered(lambda e: e.action in STAGE_ACTIONS and e.outcome == "done")
        # 1. Once per stage and cycle; one email per customer and stage in a run.
        keys = Counter(
            (event.enrollment_id.id, event.stage_id.id, event.key.rsplit(":", 2)[0] if event.key else None)
            for event in acted.filtered(lambda e: e.action == "email")
        )
        self._held(1, all(count == 1 for count in keys.values()), f"an email ran twice: {keys}")
        emails = self.env["mail.message"].search(
            [
                ("id", ">", last_message),
                ("model", "=", "collection.enrollment"),
                ("subtype_id", "=", self.env.ref(f"{ADDON}.mail_message_subtype_collection_reminder").id),
            ]
        )
        messages = defaultdict(set)
        for event in acted.filtered(lambda e: e.action == "email" and e.mail_message_id in emails):
            if event.enrollment_id.process_id.consolidate:
                messages[event.partner_id.id, event.stage_id.id].add(event.mail_message_id.id)
        self._held(
            1,
            all(len(ids) == 1 for ids in messages.values()),
            f"a customer got several emails for one stage in one run: {dict(messages)}",
        )
        # 2. Nobody contacted or charged while they must not be. Collections
        # the run's triggers started are judged by their customer and invoice.
        for enrollment in created:
            # The trigger found the invoice open; the run itself may have paid it since.
            before[enrollment.id] = [
                reason
                for reason in self._blocked_by_customer_or_invoice(enrollment)
                if not reason.startswith("invoice")
            ]
        for event in acted:
            blocked = before.get(event.enrollment_id.id)
            self._held(
                2,
                blocked is not None and not blocked,
                f"{event.action} for {event.enrollment_id.name} while {blocked or 'not open'}: "
                f"{self._describe(event.enrollment_id)} {event.enrollment_id.move_id.payment_state} "
                f"{event.enrollment_id.move_id.amount_residual}",
            )
        # 3. Triggers never re-enroll an invoice that is out of collections.
        for enrollment in created:
            earlier = enrollment.move_id.collection_enrollment_ids.filtered(
                lambda e, new=enrollment: e.id < new.id
            )
            out = earlier.filtered(
                lambda e: e.escalated_on or e.cancel_reason == "user" or e.state == "written_off"
            )
            self._held(
                3,
                not out or enrollment.id in self.reenrolled_by_hand,
                f"the trigger enrolled {enrollment.move_id.name} again after {out.mapped('name')}",
            )
        # 7. What fell due ran, or the log says why not.
        late = self.env["collection.enrollment"].search(
            [
                ("partner_id", "in", self.customers.ids),
                ("state", "=", "running"),
                ("next_action_date", "<=", self.today),
                ("backoff_until", "=", False),
            ]
        )
        late = late.filtered(lambda e: e.next_action_date <= e._company_today())
        self._held(7, not late, f"due and not run, with no reason logged: {self._describe(late)}")
        expired = (
            self.env["collection.enrollment"]
            .search(
                [
                    ("partner_id", "in", self.customers.ids),
                    ("pause_reason", "=", "promise"),
                    ("pause_until", "<", self.today),
                ]
            )
            .filtered(lambda e: e._get_pause_end() <= e._company_today())
        )
        self._held(7, not expired, f"promises past their date still holding: {expired.mapped('name')}")

    def _describe(self, enrollments):
        return [
            (
                enrollment.name,
                enrollment.state,
                enrollment.process_id.name,
                enrollment.process_id.active,
                enrollment.stage_id.name,
                enrollment.next_stage_id.name,
                str(enrollment.next_action_date),
                [
                    (event.action, event.stage_id.name, event.outcome, event.message)
                    for event in enrollment.event_ids[:4]
                ],
            )
            for enrollment in enrollments
        ]

    def _check_contacts(self):
        """6. The contact cap and the quiet days, from the messages the
        engine logged, per customer and company day."""
        company = self.env.company
        counts = self.env["collection.contact.policy"]._get_recent_contacts(
            self._open_enrollments()
            | self.env["collection.enrollment"].search([("partner_id", "in", self.customers.ids)], limit=1)
        )
        per_day, per_week = company.collection_contact_max_per_day, company.collection_contact_max_per_week
        quiet = self.env["collection.contact.policy"]._get_quiet_days(
            company, self.today - timedelta(days=7), {}
        )
        for (partner_id, day), count in list(counts.items()):
            if day != self.today:
                continue
            week = sum(counts[partner_id, day - timedelta(days=back)] for back in range(7))
            self._held(
                6,
                (not per_day or count <= per_day)
                and (not per_week or week <= per_week)
                and not (company.collection_quiet_days and day in quiet),
                f"customer {partner_id} got {count} message(s) on {day}, {week} in seven days"
                f"{' on a quiet day' if day in quiet else ''}",
            )

    def _check_paid_invoice_is_closed(self, invoice):
        # A paid late charge: its invoice's collection may be done.
        invoice = invoice.collection_late_invoice_id or invoice
        if invoice.payment_state in ("paid", "in_payment") and not self._charges_due(invoice):
            still_open = invoice.collection_enrollment_ids.filtered(
                lambda e: e.state in ("running", "paused", "escalated")
            )
            self._held(
                4,
                not still_open,
                f"{invoice.name} is {invoice.payment_state}, {self._describe(still_open)} still open, "
                f"charges {self._describe_charges(invoice)}",
            )

    def _check_day(self):
        Enrollment = self.env["collection.enrollment"]
        enrollments = Enrollment.search([("partner_id", "in", self.customers.ids)])
        # 3. At most one open collection per invoice.
        open_per_invoice = Counter(
            enrollment.move_id.id
            for enrollment in enrollments
            if enrollment.move_id and enrollment.state in ("running", "paused", "escalated")
        )
        self._held(
            3,
            all(count == 1 for count in open_per_invoice.values()),
            f"several open collections: {[m for m, c in open_per_invoice.items() if c > 1]}",
        )
        # 4. Paid invoices have no open collection.
        for invoice in enrollments.move_id:
            self._check_paid_invoice_is_closed(invoice)
        # 5. Cash collected, computed from the payments the history made.
        self._check_cash_collected(enrollments)
        self._check_contacts()
        self._check_late_charges(enrollments)

    def _check_late_charges(self, enrollments):
        charges = self.env["account.move"].search(
            [("partner_id", "in", self.customers.ids), ("collection_late_invoice_id", "!=", False)]
        )
        runs = Counter(
            self.env["collection.event"]
            .search([("charge_move_id", "in", charges.ids), ("action", "=", "late_charge")])
            .charge_move_id.ids
        )
        self._held(
            8,
            all(runs[charge.id] == 1 for charge in charges),
            f"charge invoices not made by one stage run: {[c.name for c in charges if runs[c.id] != 1]}",
        )
        self._held(
            8,
            not charges.collection_enrollment_ids,
            f"a charge enrolled on its own: {charges.collection_enrollment_ids.mapped('name')}",
        )
        for enrollment in enrollments.filtered(
            lambda e: e.move_id and e.state in ("running", "paused", "escalated")
        ):
            invoice = enrollment.move_id
            owed = invoice.amount_residual + sum(
                invoice.collection_charge_move_ids.filtered(lambda move: move.state == "posted").mapped(
                    "amount_residual"
                )
            )
            self._held(
                8,
                not enrollment.currency_id.compare_amounts(owed, enrollment.amount_residual),
                f"{enrollment.name} owes {enrollment.amount_residual}, its invoice and charges {owed}",
            )

    def _check_cash_collected(self, enrollments):
        windows = defaultdict(list)
        for enrollment in enrollments.filtered("move_id"):
            window = (enrollment.enrolled_on, enrollment.closed_on)
            for move in enrollment.move_id | enrollment.move_id.collection_charge_move_ids:
                windows[move.id].append(window)
        expected = 0.0
        for invoice_id, amount, paid_on in self.payments:
            if any(start <= paid_on and (not end or paid_on <= end) for start, end in windows[invoice_id]):
                expected += amount
        collected, _by_stage = self.env["collection.kpi"]._get_cash_collected(
            self.env.company, START, self.today
        )
        if self.env.company.currency_id.compare_amounts(collected, expected):
            self._fail(
                5,
                f"cash collected {collected:.2f}, payments while enrolled {expected:.2f}; "
                f"{self._explain_cash(windows)}",
            )
        self.checks[5] += 1

    def _explain_cash(self, windows):
        """Per invoice, the payments the history made and the reconciled
        amounts the books hold, where they differ."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT line.move_id, partial.max_date, partial.amount, credit.move_id
                  FROM account_partial_reconcile partial
                  JOIN account_move_line line ON line.id = partial.debit_move_id
                  JOIN account_move_line credit ON credit.id = partial.credit_move_id
                 WHERE line.move_id IN %s AND line.display_type = 'payment_term'
                """,
                tuple(windows) or (0,),
            )
        )
        books = defaultdict(list)
        for move_id, max_date, amount, credit_move in rows:
            books[move_id].append(
                (str(max_date), float(amount), self.env["account.move"].browse(credit_move).name)
            )
        made = defaultdict(list)
        for invoice_id, amount, paid_on in self.payments:
            made[invoice_id].append((str(paid_on), amount))
        return "; ".join(
            f"{self.env['account.move'].browse(invoice_id).name} windows {windows[invoice_id]} "
            f"paid {made[invoice_id]} books {books[invoice_id]}"
            for invoice_id in windows
            if sorted(a for _d, a in made[invoice_id]) != sorted(a for _d, a, _m in books[invoice_id])
        )


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
