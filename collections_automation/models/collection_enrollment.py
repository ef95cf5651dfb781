import math
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_date, plaintext2html

SEQUENCE_CODE = "collection.enrollment"
# Open for the money: a payment, a promise or a dispute still changes it,
# and an invoice has at most one enrollment in these states.
OPEN_STATES = ("running", "paused", "escalated")
# On the ladder: the engine runs stages (running) or will again (paused).
LADDER_STATES = ("running", "paused")
CANCEL_REASONS = [
    ("user", "Cancelled by a user"),
    ("invoice", "Invoice cancelled or reversed"),
    ("reenrolled", "Replaced by a new collection"),
]
PAUSE_REASONS = [
    ("manual", "Paused by a user"),
    ("promise", "Promise to pay"),
    ("dispute", "Dispute"),
    ("hold", "Customer on hold or invoice excluded from follow-up"),
]
PAUSE_EVENTS = {"promise": "promise", "dispute": "dispute"}
DISPUTE_REASONS = [
    ("not_received", "Goods or services not received"),
    ("wrong_amount", "The amount is wrong"),
    ("quality", "A problem with the goods or services"),
    ("already_paid", "Already paid"),
    ("other", "Something else"),
]
DISPUTE_MESSAGE_MAX_LENGTH = 5000
DISPUTE_OUTCOMES = [
    ("resume", "Resume the reminders"),
    ("credit_note", "Resume after a credit note"),
    ("write_off", "Write off"),
]
CLOSING_EVENTS = {"paid": "paid", "cancelled": "cancelled", "written_off": "write_off"}


class CollectionEnrollment(models.Model):
    """One invoice (or one standalone payment request) followed by a
    collection process, from enrollment until it is paid, escalated or
    cancelled."""

    _name = "collection.enrollment"
    _description = "Collection Enrollment"
    _inherit = ["portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "next_action_date, id"
    _check_company_auto = True

    name = fields.Char(string="Number", required=True, readonly=True, copy=False, default="/")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True, check_company=True
    )
    move_id = fields.Many2one(
        "account.move", string="Invoice", index=True, ondelete="cascade", readonly=True, check_company=True
    )
    process_id = fields.Many2one(
        "collection.process", required=True, index=True, tracking=True, check_company=True
    )
    segment_rule_id = fields.Many2one(
        "collection.segment.rule", readonly=True, ondelete="set null", index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        compute="_compute_user_id",
        store=True,
        index=True,
        help="Who gets this collection's activities: the process's responsible or team, else the "
        "invoice's salesperson.",
    )
    invoice_user_id = fields.Many2one(
        related="move_id.invoice_user_id", store=True, string="Salesperson", index=True
    )
    # Not tracked: the engine moves it every day and the events log each move.
    stage_id = fields.Many2one(
        "collection.stage",
        index=True,
        readonly=True,
        help="The last stage that ran.",
    )
    next_stage_id = fields.Many2one("collection.stage", readonly=True)
    online_payment_started_at = fields.Datetime(
        string="Last online payment",
        readonly=True,
        copy=False,
        help="When the customer last started a payment from the payment-request page.",
    )
    next_action_date = fields.Date(index=True, readonly=True, copy=False)
    last_action_date = fields.Date(readonly=True, copy=False)
    stage_cycle = fields.Integer(
        default=0,
        readonly=True,
        copy=False,
        help="Counts manual moves between stages, so a stage may run again.",
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("paused", "Paused"),
            ("paid", "Paid"),
            ("escalated", "Escalated"),
            ("written_off", "Written off"),
            ("cancelled", "Cancelled"),
        ],
        required=True,
        default="running",
        index=True,
        tracking=True,
    )
    enrolled_on = fields.Date(required=True, default=lambda self: self._company_today(), readonly=True)
    closed_on = fields.Date(readonly=True, copy=False, help="The day it was paid, written off or cancelled.")
    escalated_on = fields.Date(
        readonly=True,
        copy=False,
        help="The day the process's escalation ran. An escalated collection sends no more reminders; "
        "the customer can still pay, promise and dispute.",
    )
    cancel_reason = fields.Selection(CANCEL_REASONS, readonly=True, copy=False)
    due_date = fields.Date(index=True)
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    amount_due_at_enrollment = fields.Monetary(string="Amount enrolled", readonly=True)
    amount_residual = fields.Monetary(string="Amount due", readonly=True)
    amount_collected = fields.Monetary(
        readonly=True, help="Received so far: on the invoice and on its posted late charges."
    )
    amount_charged = fields.Monetary(
        string="Late charges",
        readonly=True,
        help="The late charges invoiced on this collection and posted: they are due with the invoice.",
    )
    legal_state = fields.Selection(
        [("to_approve", "To approve"), ("sent", "Sent to legal"), ("refused", "Refused")],
        string="Legal action",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    legal_sent_on = fields.Date(string="Sent to legal on", readonly=True, copy=False)
    late_charges_before = fields.Monetary(
        readonly=True,
        copy=False,
        help="Technical: what the invoice's late charges came to when this collection started (their "
        "part still due is in the amount enrolled).",
    )
    late_charge_move_ids = fields.One2many(
        related="move_id.collection_charge_move_ids", string="Charge invoices"
    )
    late_interest_accrued = fields.Monetary(
        string="Interest accrued to date",
        compute="_compute_late_interest_accrued",
        help="The invoice's late interest to today, by the collection's late charge rule, charged or not.",
    )
    reference = fields.Char(help="The customer's reference of what is owed.")
    description = fields.Text()
    pause_reason = fields.Selection(PAUSE_REASONS, readonly=True, copy=False)
    pause_until = fields.Date(readonly=True, copy=False)
    promise_amount = fields.Monetary(readonly=True, copy=False)
    retry_blocked = fields.Selection(
        [("customer", "Waiting for a new payment method"), ("hard", "Never retry")],
        string="Payment retries",
        readonly=True,
        copy=False,
        help="Set by a declined retry: the engine stops charging the saved payment method.",
    )
    retry_blocked_token_id = fields.Many2one("payment.token", readonly=True, copy=False, ondelete="set null")
    retry_attempt = fields.Integer(
        string="Soft declines at this stage",
        readonly=True,
        copy=False,
        help="How many charges of the current retry stage were softly declined; the process's retry "
        "schedule says how long to wait before each new attempt.",
    )
    retry_next_date = fields.Date(
        string="Next payment retry",
        readonly=True,
        copy=False,
        help="Set after a soft decline: the saved payment method is charged again on this day, and "
        "the process waits at its retry stage until then.",
    )
    dispute_reason = fields.Selection(
        DISPUTE_REASONS, readonly=True, copy=False, help="The reason of the customer's last dispute."
    )
    dispute_outcome = fields.Selection(
        DISPUTE_OUTCOMES, readonly=True, copy=False, help="How the back office resolved the last dispute."
    )
    dispute_resolution_note = fields.Text(
        readonly=True, copy=False, help="What the customer is told about the resolution of their dispute."
    )
    failure_count = fields.Integer(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    retry_after = fields.Datetime(readonly=True, copy=False, index=True)
    event_ids = fields.One2many("collection.event", "enrollment_id", string="Events")
    days_overdue = fields.Integer(compute="_compute_days_overdue")
    timeline_html = fields.Html(
        compute="_compute_timeline_html",
        string="Timeline",
        sanitize=False,
        help="What happened, then what the engine will do and when, by the process's planning rule.",
    )

    _invoice_enrolled_once = models.UniqueIndex(
        "(move_id) WHERE move_id IS NOT NULL AND state IN ('running', 'paused', 'escalated')",
        "This invoice is already in a collection process.",
    )
    _amounts_positive = models.Constraint(
        "CHECK (amount_due_at_enrollment >= 0)", "The amount of a payment request cannot be negative."
    )

    @api.constrains("amount_due_at_enrollment", "move_id")
    def _check_payment_request_amount(self):
        for enrollment in self:
            if (
                not enrollment.move_id
                and enrollment.currency_id.compare_amounts(enrollment.amount_due_at_enrollment, 0.0) <= 0
            ):
                raise ValidationError(self.env._("A payment request needs an amount greater than zero."))

    @api.depends("due_date")
    def _compute_days_overdue(self):
        for company, enrollments in self.grouped("company_id").items():
            today = (company or self.env.company)._get_collection_today()
            for enrollment in enrollments:
                due = enrollment.due_date
                enrollment.days_overdue = max((today - due).days, 0) if due else 0

    @api.depends(
        "move_id.amount_residual", "process_id.late_charge_rule_id", "segment_rule_id.late_charge_rule_id"
    )
    def _compute_late_interest_accrued(self):
        for enrollment in self:
            enrollment.late_interest_accrued = enrollment._get_late_interest_accrued()

    def _get_late_interest_accrued(self):
        """The invoice's late interest to today; nothing where no rule
        applies. A day with no known reference rate shows nothing here:
        charging it says which rate is missing."""
        self.ensure_one()
        rule = self._get_late_charge_rule()
        invoice = self.move_id
        if not (rule and invoice and rule.interest_type != "none" and rule._applies_to(invoice)):
            return 0.0
        try:
            return rule._compute_interest(invoice, self._company_today())[0]
        except UserError:
            return 0.0

    @api.depends(
        "state", "stage_id", "next_stage_id", "next_action_date", "event_ids", "process_id.stage_ids"
    )
    def _compute_timeline_html(self):
        for enrollment in self:
            enrollment.timeline_html = enrollment.process_id._render_timeline_rows(
                enrollment._get_timeline_rows(), show_status=True
            )

    def _get_timeline_rows(self):
        """The events that happened, then the steps planned from the next
        stage on, as the engine will run them."""
        self.ensure_one()
        process = self.process_id
        if not process:
            return []
        labels = dict(self.env["collection.event"]._fields["action"]._description_selection(self.env))
        rows = [
            process._prepare_timeline_row(
                event.stage_id,
                event._get_company_date(),
                event.outcome,
                label=event.stage_id.name or labels[event.action],
                actions=f"{labels[event.action]}: {event.message}" if event.message else labels[event.action],
            )
            for event in self.event_ids.sorted(lambda e: (e.date, e.id))
        ]
        if self.state == "running" and self.next_action_date:
            day = self.next_action_date
            rows.append(process._prepare_timeline_row(self.next_stage_id, day, "planned"))
            if self.next_stage_id:
                rows += [
                    process._prepare_timeline_row(stage, step_day, "skipped" if skipped else "planned")
                    for stage, step_day, skipped in process._plan_ladder(
                        self.due_date, self.enrolled_on, self.next_stage_id, day, day
                    )
                ]
        return rows

    @api.depends("process_id.user_id", "process_id.team_user_ids", "move_id.invoice_user_id", "partner_id")
    def _compute_user_id(self):
        for enrollment in self:
            process = enrollment.process_id
            team = process.team_user_ids.sorted("id")
            enrollment.user_id = (
                process.user_id
                or (team[enrollment.partner_id.id % len(team)] if team else False)
                or enrollment.move_id.invoice_user_id
            )

    def _compute_access_url(self):
        for enrollment in self:
            enrollment.access_url = f"/my/collections/{enrollment.id}"

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for enrollment in self:
            enrollment.display_name = f"{enrollment.name} - {enrollment.partner_id.name or ''}"

    @api.model_create_multi
    def create(self, vals_list):
        self._assign_names(vals_list)
        todays = {}
        for vals in vals_list:
            vals.setdefault("amount_residual", vals.get("amount_due_at_enrollment", 0.0))
            if not vals.get("enrolled_on"):
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                if company not in todays:
                    todays[company] = company._get_collection_today()
                vals["enrolled_on"] = todays[company]
        enrollments = super().create(vals_list)
        enrollments._schedule_from(self.env["collection.stage"])
        # One insert for the batch: the engine's triggers enroll thousands.
        self.env["collection.event"].sudo().create(
            [
                enrollment._prepare_event_values(
                    "enrolled",
                    amount=enrollment.amount_due_at_enrollment,
                    message=self.env._("Enrolled in %(process)s", process=enrollment.process_id.name),
                )
                for enrollment in enrollments
            ]
        )
        return enrollments

    def _check_company(self, fnames=None):
        """Odoo checks each collection through a search domain per field, one
        record at a time (measured: a sixth of what enrolling a batch
        costs). Records of the collection's own company, or of none, always
        pass that check: only the other collections go through it."""
        check_all = fnames is None or "company_id" in fnames
        names = [
            name
            for name, field in self._fields.items()
            if field.relational
            and field.check_company
            and "company_id" in self.env[field.comodel_name]
            and (check_all or name in fnames)
        ]
        suspect_ids = [
            enrollment.id
            for enrollment in self.sudo()
            if any(enrollment[name].company_id - enrollment.company_id for name in names)
        ]
        return super(CollectionEnrollment, self.browse(suspect_ids))._check_company(fnames)

    @api.model
    def _assign_names(self, vals_list):
        """Number the new collections from the sequence of each one's company
        (else the shared one), looked up once per company, not per record."""
        sequences = {}
        for vals in vals_list:
            if vals.get("name", "/") != "/":
                continue
            company_id = vals.get("company_id") or self.env.company.id
            if company_id not in sequences:
                sequences[company_id] = self.env["ir.sequence"].search(
                    [("code", "=", SEQUENCE_CODE), ("company_id", "in", [company_id, False])],
                    order="company_id",
                    limit=1,
                )
            sequence = sequences[company_id]
            vals["name"] = (sequence.next_by_id() if sequence else False) or "/"

    # ------------------------------------------------------------------
    # Scheduling
    # ------------------------------------------------------------------

    def _company_today(self):
        """The collection's today: its company's (res.company._get_collection_today)."""
        return (self.company_id or self.env.company)._get_collection_today()

    def _schedule_from(self, last_stage):
        """Plan the stage after ``last_stage`` (the first stage when empty).
        The collections planned alike are written together (measured: one
        write per new collection was a tenth of enrolling a batch)."""
        same_plan = defaultdict(list)
        for enrollment in self:
            today = enrollment._company_today()
            values = enrollment._plan_next_stage(last_stage, enrollment.last_action_date, today)
            same_plan[tuple(sorted(values.items()))].append(enrollment.id)
        for values, ids in same_plan.items():
            self.browse(ids).write(dict(values))

    def _plan_next_stage(self, last_stage, previous_action_date, today):
        """The values that plan the stage after ``last_stage`` (or the
        escalation), by the process's one planning rule. A newly enrolled
        invoice may already be late for several stages counted from its due
        date: it starts at the latest of those, the way an AR clerk would,
        and the skipped stages are logged."""
        self.ensure_one()
        stage, day, skipped = self.process_id._plan_next_stage(
            self.due_date, self.enrolled_on, last_stage, previous_action_date, today
        )
        for skipped_stage, _day in skipped:
            self._log_event(
                "stage_skipped",
                stage=skipped_stage,
                outcome="skipped",
                message=self.env._("Enrolled after this stage's date: a later stage runs instead."),
            )
        return {"next_stage_id": stage.id, "next_action_date": day}

    def _replan_after_removed_stage(self, sequence, stage_id, name):
        """The stage this collection waited for was removed: plan what
        comes after its place in the ladder, by the process's one rule."""
        self.ensure_one()
        # A retry schedule belongs to the stage that charged.
        self.write({"retry_attempt": 0, "retry_next_date": False})
        values = self._plan_next_stage((sequence, stage_id), self.last_action_date, self._company_today())
        self.write(values)
        following = self.next_stage_id
        self._log_event(
            "stage_moved",
            stage=following,
            message=self.env._(
                "The stage %(stage)s was removed from the process: %(next)s comes next.",
                stage=name,
                next=following.name or self.env._("the escalation"),
            ),
        )

    # ------------------------------------------------------------------
    # Events
    # ------------------------------------------------------------------

    def _prepare_event_values(self, action, **values):
        self.ensure_one()
        stage = values.pop("stage", None)
        return {
            "enrollment_id": self.id,
            "action": action,
            "stage_id": stage.id if stage else False,
            **values,
        }

    def _log_event(self, action, **values):
        return self.env["collection.event"].sudo().create(self._prepare_event_values(action, **values))

    def _action_key(self, stage, action):
        """The key that lets ``action`` of ``stage`` run once for this enrollment."""
        self.ensure_one()
        return f"{self.id}:{stage.id}:{self.stage_cycle or 0}:{action}"

    # ------------------------------------------------------------------
    # State changes
    # ------------------------------------------------------------------

    def _check_state(self, states):
        wrong = self.filtered(lambda e: e.state not in states)
        if wrong:
            raise UserError(
                self.env._(
                    "%(enrollments)s can no longer change this way: it is %(state)s.",
                    enrollments=", ".join(wrong.mapped("name")),
                    state=dict(self._fields["state"]._description_selection(self.env))[wrong[0].state],
                )
            )

    def _check_open(self):
        """Money still owed: payments, promises, disputes and cancellation apply."""
        self._check_state(OPEN_STATES)

    def _check_on_ladder(self):
        """Stages still to run: pausing and moving between stages apply."""
        self._check_state(LADDER_STATES)

    def action_pause(self, reason="manual", until=False, note=False, amount=0.0):
        """Hold the reminders: by hand, for a promise or for a dispute. An
        escalated collection sends no reminder anyway: it keeps its state and
        records the promise or the dispute."""
        if reason == "manual":
            self._check_on_ladder()
        else:
            self._check_open()
        if until and until <= self._company_today():
            raise ValidationError(self.env._("A pause must last until a day after today."))
        self.filtered(lambda e: e.state in LADDER_STATES).write({"state": "paused"})
        self.write({"pause_reason": reason, "pause_until": until, "promise_amount": amount})
        labels = dict(PAUSE_REASONS)
        for enrollment in self:
            message = labels[reason]
            if until:
                message = self.env._("%(reason)s until %(date)s", reason=message, date=until)
            if note:
                message = f"{message}: {note}"
            enrollment._log_event(PAUSE_EVENTS.get(reason, "paused"), message=message, amount=amount or 0.0)
            enrollment.message_post(body=message)
        return True

    def action_resume(self):
        """End the hold: a paused collection runs its stages again; an
        escalated one only drops its promise or dispute."""
        held = self.filtered(lambda e: e.state == "paused" or (e.state == "escalated" and e.pause_reason))
        if not held:
            raise UserError(self.env._("Only a paused enrollment can resume."))
        today = held[:1]._company_today()
        for enrollment in held:
            values = {"pause_reason": False, "pause_until": False, "promise_amount": 0.0}
            if enrollment.state == "paused":
                values["state"] = "running"
            # A pause never makes the customer miss a stage: a stage whose
            # date passed during the pause runs at the next engine run.
            if values.get("state") and enrollment.next_action_date and enrollment.next_action_date < today:
                values["next_action_date"] = today
            enrollment.write(values)
            message = self.env._("Collection resumed by %(user)s.", user=self.env.user.name)
            enrollment._log_event("resumed", message=message)
            enrollment.message_post(body=message)
        return True

    def action_run_next_now(self):
        """Run the next stage of these enrollments now, as the engine would
        (locked, once-only), instead of waiting for its day."""
        running = self.filtered(lambda e: e.state == "running" and e.next_stage_id)
        if not running:
            raise UserError(self.env._("Only a running collection with a next stage can run it now."))
        today = running[:1]._company_today()
        running.write({"next_action_date": today})
        for enrollment in running:
            enrollment.message_post(
                body=self.env._(
                    "%(user)s ran the stage %(stage)s now.",
                    user=self.env.user.name,
                    stage=enrollment.next_stage_id.name,
                )
            )
        self.env["collection.engine"]._run_now(running)
        return True

    def _move_to_stage(self, stage, reason):
        """Plan ``stage`` next, today, with the reason in the chatter. The
        cycle counter changes, so a stage that ran before may run again."""
        self._check_on_ladder()
        if not reason or not reason.strip():
            raise UserError(self.env._("Say why the collection moves to another stage."))
        wrong = self.filtered(lambda e: e.process_id != stage.process_id)
        if wrong:
            raise UserError(
                self.env._(
                    "%(stage)s is not a stage of the process of %(enrollments)s.",
                    stage=stage.name,
                    enrollments=", ".join(wrong.mapped("name")),
                )
            )
        today = self[:1]._company_today()
        for enrollment in self:
            enrollment.write(
                {
                    "next_stage_id": stage.id,
                    "next_action_date": today,
                    "stage_cycle": enrollment.stage_cycle + 1,
                    "retry_after": False,
                    "retry_attempt": 0,
                    "retry_next_date": False,
                }
            )
            message = self.env._(
                "Moved to the stage %(stage)s by %(user)s: %(reason)s",
                stage=stage.name,
                user=self.env.user.name,
                reason=reason.strip(),
            )
            enrollment._log_event("stage_moved", stage=stage, message=message)
            enrollment.message_post(body=message)

    def action_cancel(self):
        self._check_open()
        self._close(
            "cancelled", self.env._("Cancelled by %(user)s.", user=self.env.user.name), cancel_reason="user"
        )
        return True

    def _close(self, state, message, cancel_reason=False):
        """End the collection for good: paid, written off or cancelled."""
        today = self[:1]._company_today()
        if state == "paid":
            for enrollment in self.filtered(lambda e: e.pause_reason == "promise"):
                enrollment._log_event(
                    "promise_kept",
                    amount=enrollment.promise_amount,
                    message=self.env._("Paid by the promised date %(date)s.", date=enrollment.pause_until),
                )
        self.write(
            {
                "state": state,
                "closed_on": today,
                "next_action_date": False,
                "pause_until": False,
                "cancel_reason": cancel_reason,
            }
        )
        for enrollment in self:
            enrollment._log_event(CLOSING_EVENTS[state], message=message)
            enrollment.message_post(body=message)

    # ------------------------------------------------------------------
    # What the customer does on the payment page
    # ------------------------------------------------------------------

    def _get_pause_end(self):
        """The first day the pause no longer holds: its date, or for a
        promise to pay *by* a date, the day after it."""
        self.ensure_one()
        if self.pause_reason == "promise":
            return self.pause_until + timedelta(days=1)
        return self.pause_until

    def _get_promise_date_limits(self):
        """(first, last) day a customer may promise to pay by."""
        self.ensure_one()
        today = self._company_today()
        return today + timedelta(days=1), today + timedelta(days=self.process_id.promise_max_days)

    def action_promise_to_pay(self, date, amount):
        """The customer promises to pay ``amount`` (for all of self) by
        ``date``: the enrollments pause until then. Past that date unpaid,
        the engine logs the broken promise and runs the next stage."""
        self._check_open()
        date = fields.Date.to_date(date) if date else False
        self._check_promise_policy(date, amount)
        total = sum(self.mapped("amount_residual"))
        currency = self[:1].currency_id
        for enrollment in self:
            share = currency.round(amount * enrollment.amount_residual / total)
            enrollment.action_pause(
                reason="promise",
                until=date,
                amount=share,
                note=self.env._("%(amount)s promised", amount=currency.format(share)),
            )
        self._send_customer_confirmation("collections_automation.mail_template_promise_confirmation")
        return True

    def _check_process_allows(self, field_name, message):
        """Refuse the customer's action when the process of any of these
        requests forbids it (``allow_promise``, ``allow_dispute``);
        ``message`` names them with ``%(requests)s``."""
        forbidding = self.filtered(lambda enrollment: not enrollment.process_id[field_name])
        if forbidding:
            raise UserError(
                message % {"requests": ", ".join(forbidding.mapped(lambda e: e.move_id.name or e.name))}
            )

    def _get_promise_min_amount(self):
        """The least a promise for all of self may cover, by each process's share."""
        currency = self[:1].currency_id
        return sum(currency.round(e.amount_residual * e.process_id.promise_min_share / 100) for e in self)

    def _check_promise_policy(self, date, amount):
        """Each enrollment's own process decides: whether it takes promises,
        by which date, for which share of the amount due, how many times;
        and an open promise can only get better (sooner, or more)."""
        self._check_process_allows("allow_promise", self.env._("%(requests)s does not take promises to pay."))
        limits = [enrollment._get_promise_date_limits() for enrollment in self]
        first, last = max(limit[0] for limit in limits), min(limit[1] for limit in limits)
        if not date or not first <= date <= last:
            raise ValidationError(
                self.env._("Choose a date between %(first)s and %(last)s.", first=first, last=last)
            )
        currency = self[:1].currency_id
        total = sum(self.mapped("amount_residual"))
        if (
            not isinstance(amount, (int, float))
            or not math.isfinite(amount)
            # Plain floats first: rounding a huge number to cents overflows.
            or amount <= 0
            or amount - total >= currency.rounding
            or currency.compare_amounts(amount, 0.0) <= 0
            or currency.compare_amounts(amount, total) > 0
        ):
            raise ValidationError(
                self.env._(
                    "The promised amount must be more than zero and at most %(total)s.",
                    total=currency.format(total),
                )
            )
        required = self._get_promise_min_amount()
        if currency.compare_amounts(amount, required) < 0:
            raise ValidationError(
                self.env._("A promise must cover at least %(amount)s.", amount=currency.format(required))
            )
        promised = self.filtered(lambda e: e.pause_reason == "promise" and e.pause_until)
        if promised:
            open_date = min(promised.mapped("pause_until"))
            open_amount = sum(promised.mapped("promise_amount"))
            if date > open_date:
                raise ValidationError(
                    self.env._(
                        "You already promised to pay by %(date)s: a new promise cannot be later than that.",
                        date=format_date(self.env, open_date),
                    )
                )
            if currency.compare_amounts(amount, open_amount) < 0:
                raise ValidationError(
                    self.env._(
                        "You already promised %(amount)s: a new promise cannot be for less than that.",
                        amount=currency.format(open_amount),
                    )
                )
        counts = dict(
            self.env["collection.event"]
            .sudo()
            ._read_group(
                [("enrollment_id", "in", self.ids), ("action", "=", "promise")],
                groupby=["enrollment_id"],
                aggregates=["__count"],
            )
        )
        exhausted = self.filtered(lambda e: counts.get(e, 0) >= e.process_id.promise_max_count)
        if exhausted:
            raise ValidationError(
                self.env._(
                    "%(requests)s took at most %(count)s promises to pay already: please pay, or contact us.",
                    requests=", ".join(exhausted.mapped(lambda e: e.move_id.name or e.name)),
                    count=exhausted[0].process_id.promise_max_count,
                )
            )

    def _send_customer_confirmation(self, template_xmlid):
        """Email the customer, from the first enrollment, a confirmation
        covering all of self."""
        lead = self[:1].with_context(collection_group_ids=self.ids)
        lead.message_post_with_source(self.env.ref(template_xmlid), subtype_xmlid="mail.mt_comment")

    def action_dispute(self, reason, message, author=None):
        """The customer disputes what is owed: the enrollments pause, the
        message lands in their chatter as the customer's, and the
        responsible gets an activity."""
        self._check_open()
        lead = self[:1]
        self._check_process_allows(
            "allow_dispute", self.env._("%(requests)s cannot be disputed online: please contact us.")
        )
        labels = dict(self._fields["dispute_reason"]._description_selection(self.env))
        if reason not in labels:
            raise ValidationError(self.env._("Choose the reason of your dispute."))
        message = (message or "").strip()
        if not message:
            raise ValidationError(self.env._("Tell us what is wrong, so that we can sort it out."))
        if len(message) > DISPUTE_MESSAGE_MAX_LENGTH:
            raise ValidationError(
                self.env._(
                    "Your message is too long (%(max)s characters at most).", max=DISPUTE_MESSAGE_MAX_LENGTH
                )
            )
        self.action_pause(reason="dispute", note=labels[reason])
        self.write({"dispute_reason": reason})
        author = author or lead.partner_id
        for enrollment in self:
            enrollment.message_post(
                body=plaintext2html(message),
                author_id=author.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        lead.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Dispute: %(reason)s", reason=labels[reason]),
            note=plaintext2html(
                self.env._(
                    "%(customer)s disputes %(documents)s:\n%(message)s",
                    customer=author.display_name,
                    documents=", ".join(self.move_id.mapped("name") or self.mapped("name")),
                    message=message,
                )
            ),
            user_id=lead.process_id._get_responsible_user(lead).id,
            date_deadline=lead._company_today(),
        )
        self._send_customer_confirmation("collections_automation.mail_template_dispute_received")
        return True

    def action_open_dispute_resolution(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_dispute_resolution_action"
        )
        action["context"] = {"default_enrollment_id": self.id}
        return action

    def action_resolve_dispute(self, outcome, note=False, credit_note=None):
        """The back office resolves the customer's dispute: the reminders
        resume (after a credit note, for what is still due), or the amount is
        written off. The outcome is logged and the customer is told."""
        not_disputed = self.filtered(lambda e: e.pause_reason != "dispute" or e.state not in OPEN_STATES)
        if not_disputed:
            raise UserError(
                self.env._("%(names)s is not disputed.", names=", ".join(not_disputed.mapped("name")))
            )
        labels = dict(self._fields["dispute_outcome"]._description_selection(self.env))
        if outcome not in labels:
            raise UserError(self.env._("Choose how the dispute is resolved."))
        if outcome == "credit_note":
            self._apply_credit_note(credit_note)
        note = (note or "").strip()
        self.write({"dispute_outcome": outcome, "dispute_resolution_note": note})
        for enrollment in self:
            message = self.env._(
                "Dispute resolved by %(user)s: %(outcome)s.", user=self.env.user.name, outcome=labels[outcome]
            )
            if credit_note:
                message = f"{message} {credit_note.display_name}"
            if note:
                message = f"{message} {note}"
            enrollment._log_event("dispute_resolved", message=message, amount=enrollment.amount_residual)
        still_open = self.filtered(lambda e: e.state in OPEN_STATES)
        if outcome == "write_off":
            still_open._close(
                "written_off",
                self.env._("Written off by %(user)s after a dispute.", user=self.env.user.name),
            )
        else:
            still_open.action_resume()
        self._send_customer_confirmation("collections_automation.mail_template_dispute_resolved")
        return True

    def _apply_credit_note(self, credit_note):
        """Reconcile a posted credit note of the customer with the disputed
        invoices, oldest first: the collection goes on for what is left."""
        if not credit_note:
            raise UserError(self.env._("Choose the credit note that settles the dispute."))
        partner = self[:1].partner_id.commercial_partner_id
        if (
            credit_note.move_type != "out_refund"
            or credit_note.state != "posted"
            or credit_note.commercial_partner_id != partner
        ):
            raise UserError(
                self.env._(
                    "%(credit_note)s is not a posted credit note of %(customer)s.",
                    credit_note=credit_note.display_name,
                    customer=partner.display_name,
                )
            )
        for invoice in self.move_id.sorted(lambda move: (move.invoice_date_due, move.id)):
            credit_line = credit_note.line_ids.filtered(
                lambda line: line.account_type == "asset_receivable" and not line.reconciled
            )[:1]
            if not credit_line:
                break
            invoice.js_assign_outstanding_line(credit_line.id)

    def action_approve_legal(self):
        self.env["collection.legal.action"]._approve(self)
        return True

    def action_refuse_legal(self):
        return self.env["collection.legal.refuse"].action_open(self)

    def _get_late_charge_rule(self):
        """The segment rule's late charge rule, else the process's."""
        self.ensure_one()
        return self.segment_rule_id.late_charge_rule_id or self.process_id.late_charge_rule_id

    def _ladder_end_key(self):
        self.ensure_one()
        return f"{self.id}:end:{self.stage_cycle or 0}:escalation"

    def _escalate(self):
        """The ladder is done and money is still due: no more reminders, the
        escalation runs (unless a stage ran it already), and the customer can
        still pay, promise and dispute from the page."""
        already = self.filtered("escalated_on")
        Escalation = self.env["collection.stage.action.escalation"]
        Escalation._run([(self.env["collection.stage"], self - already)])
        messages = {}
        for enrollment in self:
            if enrollment in already:
                messages[enrollment.id] = self.env._(
                    "The last stage ran: no more reminders, %(amount)s still due.",
                    amount=enrollment._format_amount(),
                )
            else:
                messages[enrollment.id] = Escalation._get_escalated_message(enrollment)
        if already:
            Escalation._claim(
                [(self.env["collection.stage"], enrollment) for enrollment in already],
                [
                    {"amount": enrollment.amount_residual, "message": messages[enrollment.id]}
                    for enrollment in already
                ],
            )
        self._write_and_log(
            {"state": "escalated", "next_stage_id": False, "next_action_date": False}, messages
        )

    def _write_and_log(self, values, bodies):
        """Write ``values`` and log one note per collection: its body of
        ``bodies`` with the tracked fields that changed, for the whole batch.
        Odoo's own tracking would log a message per collection, one at a
        time: a run may escalate thousands. The caller checked the access to
        these collections."""
        tracked = self._track_get_fields().intersection(values)
        tracked_info = self.fields_get(tracked, attributes=("string", "type", "selection", "currency_field"))
        # An earlier write of this transaction may have prepared Odoo's
        # tracking of these records (it logs at commit, from the values of
        # that moment): take their values from it, and leave the fields
        # logged here out of it.
        prepared = self.env.cr.precommit.data.get(f"mail.tracking.{self._name}", {})
        initial_values = {}
        for record in self:
            before = prepared.get(record.id) or {}
            initial_values[record.id] = {name: before.pop(name, record[name]) for name in tracked}
        self.with_context(mail_notrack=True).write(values)
        tracking_values = []
        for message in self._message_log_batch(bodies=bodies):
            record = self.browse(message.res_id)
            _changes, commands = record._mail_track(tracked_info, initial_values[record.id])
            tracking_values += [
                dict(tracking, mail_message_id=message.id) for _command, _id, tracking in commands
            ]
        self.env["mail.tracking.value"].sudo().create(tracking_values)

    def _format_amount(self):
        self.ensure_one()
        return self.currency_id.format(self.amount_residual)

    def _sync_with_invoices(self):
        """Follow what happened to the invoices: a payment lowers the amount
        due and is logged; a paid invoice closes the enrollment as paid; a
        cancelled or reversed one closes it as cancelled."""
        for enrollment in self.filtered(lambda e: e.move_id and e.state in OPEN_STATES):
            invoice = enrollment.move_id
            if invoice.state != "posted" or invoice.payment_state == "reversed":
                enrollment._close(
                    "cancelled", self.env._("The invoice was cancelled or reversed."), cancel_reason="invoice"
                )
                continue
            charged, charges_due = invoice._get_collection_charge_figures()
            # The charges made while this collection runs.
            charged -= enrollment.late_charges_before
            residual = invoice.amount_residual + charges_due
            collected = enrollment.amount_due_at_enrollment + charged - residual
            currency = enrollment.currency_id
            # A charge posted, waived or cancelled moves what is owed, not
            # what was received; nothing owed any more closes the collection,
            # whatever settled it last.
            received = currency.compare_amounts(collected, enrollment.amount_collected) > 0
            values = {
                name: value
                for name, value in (
                    ("amount_charged", charged),
                    ("amount_residual", residual),
                    ("amount_collected", collected),
                )
                if currency.compare_amounts(value, enrollment[name])
            }
            if values:
                enrollment.write(values)
            if currency.is_zero(residual):
                enrollment._close("paid", self.env._("The invoice is paid."))
            elif received:
                message = self.env._(
                    "Partial payment received: %(amount)s still due.", amount=enrollment._format_amount()
                )
                enrollment._log_event("partial_payment", amount=collected, message=message)
                enrollment.message_post(body=message)

    def _get_payable_invoices(self):
        """What paying these collections pays: their invoices and their
        posted late charges still due."""
        moves = self.move_id | self.move_id.collection_charge_move_ids.filtered(
            lambda move: move.state == "posted"
        )
        return moves.filtered("amount_residual")

    def _record_payment(self, amount):
        """Register ``amount`` received on standalone payment requests."""
        for enrollment in self.filtered(lambda e: not e.move_id and e.state in OPEN_STATES):
            residual = max(enrollment.amount_residual - amount, 0.0)
            enrollment.write(
                {
                    "amount_residual": residual,
                    "amount_collected": enrollment.amount_due_at_enrollment - residual,
                }
            )
            if enrollment.currency_id.is_zero(residual):
                enrollment._close("paid", self.env._("The payment request is paid."))
            else:
                enrollment._log_event("partial_payment", amount=amount)

    # ------------------------------------------------------------------
    # Enrollment API
    # ------------------------------------------------------------------

    @api.model
    def _get_no_reenrollment_domain(self):
        """The collections that keep the triggers off their invoice: an open
        one, or one that escalated, was cancelled by a user or written off.
        A person may still enroll such an invoice again, once confirmed."""
        return (
            Domain("state", "in", (*OPEN_STATES, "written_off"))
            | Domain("escalated_on", "!=", False)
            | Domain("cancel_reason", "=", "user")
        )

    @api.model
    def _get_held_domain(self):
        """Collections whose customer is on collection hold or whose invoice
        is excluded from follow-up: nobody is contacted or charged for them."""
        return Domain("partner_id.collection_hold", "=", True) | Domain(
            "move_id.line_ids",
            "any",
            [("account_type", "=", "asset_receivable"), ("no_followup", "=", True)],
        )

    @api.model
    def _get_due_domain(self, today):
        return Domain("state", "=", "running") & Domain("next_action_date", "<=", today)

    def _is_retry_rerun(self, stage):
        """Whether ``stage`` runs again only for a new attempt of its payment
        retry, planned by the retry schedule after a soft decline."""
        self.ensure_one()
        return bool(self.retry_attempt and stage.retry_payment and self.stage_id == stage)

    def action_open_invoice(self):
        self.ensure_one()
        return self.move_id._get_records_action()
