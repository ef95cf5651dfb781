"""The invariants of the lifecycle that the simulated history
(``simulation.py``) checks after every engine run and every day: each check
that holds is counted, a broken one raises with the seed and the day."""

from collections import Counter, defaultdict
from datetime import date, timedelta

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


class InvariantBroken(AssertionError):
    pass


class LifecycleInvariants:
    """The checks of a simulated history, for ``LifecycleSimulation``."""

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
        self._check_once(acted, last_message)
        self._check_nobody_blocked_was_contacted(acted, before, created)
        self._check_no_re_enrollment(created)
        self._check_due_actions_ran()

    def _check_once(self, acted, last_message):
        """1. Once per stage and cycle; one email per customer and stage in a run."""
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

    def _check_nobody_blocked_was_contacted(self, acted, before, created):
        """2. Nobody contacted or charged while they must not be. Collections
        the run's triggers started are judged by their customer and invoice."""
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

    def _check_no_re_enrollment(self, created):
        """3. Triggers never re-enroll an invoice that is out of collections."""
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

    def _check_due_actions_ran(self):
        """7. What fell due ran, or the log says why not."""
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
