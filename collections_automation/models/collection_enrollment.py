from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from .collection_kpi_day import ENROLLMENT_KEY_FIELDS

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
# Stored fields that mean nothing to group collections by.
HIDDEN_FROM_GROUP_BY = {"access_token"}
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
        readonly=False,
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
        help="Who gets this collection's new activities: the process's responsible or team, else the "
        "invoice's salesperson, unless someone reassigned it; a change of the process's responsible or "
        "team, of the invoice's salesperson or of the customer assigns it again by that rule.",
    )
    invoice_user_id = fields.Many2one(
        related="move_id.invoice_user_id", store=True, string="Salesperson", index=True
    )
    # Kept for the analysis, which converts every collection's amounts to
    # the company's currency at its invoice's rate: without a join to every
    # invoice.
    invoice_currency_rate = fields.Float(related="move_id.invoice_currency_rate", store=True)
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
    # The engine's back-off after an error, apart from the payment retry of
    # a declined card (retry_attempt, retry_next_date).
    failure_count = fields.Integer(
        string="Engine failures in a row",
        readonly=True,
        copy=False,
        help="How many engine runs in a row failed on this collection; each failure waits longer.",
    )
    last_error = fields.Text(string="Last engine error", readonly=True, copy=False)
    backoff_until = fields.Datetime(
        string="Engine tries again after",
        readonly=True,
        copy=False,
        index=True,
        help="After an error, the engine leaves this collection alone until then.",
    )
    event_ids = fields.One2many("collection.event", "enrollment_id", string="Events")
    days_overdue = fields.Integer(compute="_compute_days_overdue")
    timeline_html = fields.Html(
        compute="_compute_timeline_html",
        string="Timeline",
        sanitize=False,
        help="What happened, then what the engine will do and when, by the process's planning rule.",
    )

    _invoice_enrolled_once = models.UniqueIndex(
        f"(move_id) WHERE move_id IS NOT NULL AND state IN ({', '.join(map(repr, OPEN_STATES))})",
        "This invoice is already in a collection process.",
    )
    # The KPI screen reads the period's collections by the day they started
    # (recovery rate) and the paid ones by the day they were paid (median
    # days to collect): without these, every collection of the company.
    _company_enrolled_on_idx = models.Index("(company_id, enrolled_on)")
    _company_paid_on_idx = models.Index("(company_id, closed_on) INCLUDE (enrolled_on) WHERE state = 'paid'")
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
        for enrollment in self:
            company = enrollment.company_id or self.env.company
            enrollment.days_overdue = company._get_collection_days_overdue(enrollment.due_date)

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
        rows = []
        for event in self.event_ids.sorted(lambda e: (e.date, e.id)):
            action = labels[event.action]
            if event.stage_id:
                label, actions = (
                    event.stage_id.name,
                    f"{action}: {event.message}" if event.message else action,
                )
            else:
                # The event's name stands in the stage's column: its details only beside it.
                label, actions = action, event.message or ""
            rows.append(
                process._prepare_timeline_row(
                    event.stage_id, event._get_company_date(), event.outcome, label=label, actions=actions
                )
            )
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

    @api.model
    def fields_get(self, allfields=None, attributes=None):
        """The payment page's access token is no way to group collections:
        *Group By* does not offer it (it offered "Security Token")."""
        descriptions = super().fields_get(allfields, attributes)
        for name in HIDDEN_FROM_GROUP_BY & descriptions.keys():
            if "groupable" in descriptions[name]:
                descriptions[name]["groupable"] = False
        return descriptions

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for enrollment in self:
            enrollment.display_name = f"{enrollment.name} - {enrollment.partner_id.name or ''}"

    @api.model_create_multi
    def create(self, vals_list):
        self._assign_names(vals_list)
        todays_by_company = {}
        todays = []
        for vals in vals_list:
            vals.setdefault("amount_residual", vals.get("amount_due_at_enrollment", 0.0))
            company = self._get_new_company(vals)
            if company not in todays_by_company:
                todays_by_company[company] = company._get_collection_today()
            todays.append(todays_by_company[company])
            if not vals.get("enrolled_on"):
                vals["enrolled_on"] = todays[-1]
        skipped_stages = self._plan_first_stages(vals_list, todays)
        enrollments = super().create(vals_list)
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
            + [
                enrollment._prepare_stage_skipped_values(stage)
                for enrollment, skipped in zip(enrollments, skipped_stages, strict=True)
                for stage, _day in skipped
            ]
        )
        self.env["collection.kpi.day"]._mark_enrollments(enrollments, before={})
        return enrollments

    def write(self, vals):
        if not ENROLLMENT_KEY_FIELDS.intersection(vals):
            return super().write(vals)
        Day = self.env["collection.kpi.day"]
        before = Day._get_enrollment_keys(self)
        result = super().write(vals)
        Day._mark_enrollments(self, before)
        return result

    def unlink(self):
        Day = self.env["collection.kpi.day"]
        Day._mark_enrollments(self, Day._get_enrollment_keys(self), after={})
        return super().unlink()

    @api.model
    def _get_new_company(self, vals):
        """The company of a new collection of ``vals``, as its default gives it."""
        company_id = vals.get("company_id") or self.env.context.get("default_company_id")
        return self.env["res.company"].browse(company_id) or self.env.company

    @api.model
    def _plan_first_stages(self, vals_list, todays):
        """Give each new collection's values its first stage and day, by the
        process's one planning rule, in its INSERT (measured: writing the
        plan after it was a twelfth of enrolling 10,000 invoices). The
        values are read as the ORM would store them (dates given as text,
        the process from the context's default). Returns the [(stage, day)]
        each one skipped, in ``vals_list``'s order. ``todays``: the today
        of each one's company, in the same order."""
        process_id = self.env.context.get("default_process_id")
        no_stage = self.env["collection.stage"]
        skipped_stages = []
        for vals, today in zip(vals_list, todays, strict=True):
            process = self.env["collection.process"].browse(vals.get("process_id") or process_id)
            if not process:
                skipped_stages.append([])  # the insert refuses it: a process is required
                continue
            stage, day, skipped = process._plan_next_stage(
                fields.Date.to_date(vals.get("due_date")),
                fields.Date.to_date(vals["enrolled_on"]),
                no_stage,
                fields.Date.to_date(vals.get("last_action_date")),
                today,
            )
            vals.update(next_stage_id=stage.id, next_action_date=day)
            skipped_stages.append(skipped)
        return skipped_stages

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
        (else the shared one), looked up once per company and drawn for all
        those of a sequence at once, in ``vals_list``'s order."""
        sequences = {}
        unnamed = defaultdict(list)
        for vals in vals_list:
            if vals.get("name", "/") != "/":
                continue
            company_id = self._get_new_company(vals).id
            if company_id not in sequences:
                sequences[company_id] = self.env["ir.sequence"].search(
                    [("code", "=", SEQUENCE_CODE), ("company_id", "in", [company_id, False])],
                    order="company_id",
                    limit=1,
                )
            unnamed[sequences[company_id]].append(vals)
        for sequence, sequence_vals in unnamed.items():
            names = (
                self.env["collection.sequence.batch"]._next_numbers(sequence, len(sequence_vals))
                if sequence
                else [False] * len(sequence_vals)
            )
            for vals, name in zip(sequence_vals, names, strict=True):
                vals["name"] = name or "/"

    # ------------------------------------------------------------------
    # Events
    # ------------------------------------------------------------------

    def _grouped_by_desk_lang(self):
        """{language: collections in it}: these collections, each in its
        company's desk language (res.company._get_collection_lang)."""
        langs = {company: company._get_collection_lang() for company in self.company_id}
        by_lang = defaultdict(list)
        for collection in self:
            by_lang[langs.get(collection.company_id, "en_US")].append(collection.id)
        return {lang: self.browse(ids).with_context(lang=lang) for lang, ids in by_lang.items()}

    def _company_today(self):
        """The collection's today: its company's (res.company._get_collection_today)."""
        return (self.company_id or self.env.company)._get_collection_today()

    def _prepare_stage_skipped_values(self, stage):
        return self._prepare_event_values(
            "stage_skipped",
            stage=stage,
            outcome="skipped",
            message=self.env._("Enrolled after this stage's date: a later stage runs instead."),
        )

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

    def _get_late_charge_rule(self):
        """The segment rule's late charge rule, else the process's."""
        self.ensure_one()
        return self.segment_rule_id.late_charge_rule_id or self.process_id.late_charge_rule_id

    def _format_amount(self):
        self.ensure_one()
        return self.currency_id.format(self.amount_residual)

    def _creation_message(self):
        """The chatter's first line says what is collected, not Odoo's
        generic "Collection Enrollment created"."""
        self.ensure_one()
        return self.env._(
            "Collection started in %(process)s: %(amount)s due.",
            process=self.process_id.name,
            amount=self.currency_id.format(self.amount_due_at_enrollment),
        )

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
    def _get_held_domain(self, company):
        """Collections of ``company`` whose customer is on collection hold
        there (a hold is set per company) or whose invoice is excluded from
        follow-up: nobody is contacted or charged for them. The held
        customers and excluded invoices, a few, are searched first: the
        engine's hourly check does not read every running collection's
        invoice lines (measured: 0.4 s at 113,000 collections)."""
        Move = self.env["account.move"]
        # As superuser: which customers are held in ``company`` (a flag,
        # whoever runs the engine), to pause collections the caller reaches.
        held_partners = (
            self.env["res.partner"]
            .sudo()
            .with_company(company)
            .with_context(active_test=False)
            ._search([("collection_hold", "=", True)])
        )
        return Domain("company_id", "=", company.id) & (
            Domain("partner_id", "in", held_partners)
            | Domain("move_id", "in", Move._search(Move._get_followup_excluded_domain()))
        )

    @api.model
    def _get_due_domain(self, today):
        """The one rule of which collections are due ``today``: in SQL for
        the engine's batches, in Python by ``_filter_due``."""
        return Domain("state", "=", "running") & Domain("next_action_date", "<=", today)

    def _filter_due(self):
        """Those of these collections due on their company's day, in their
        order."""
        due_ids = set()
        for company, enrollments in self.grouped("company_id").items():
            today = (company or self.env.company)._get_collection_today()
            due_ids.update(enrollments.filtered_domain(self._get_due_domain(today)).ids)
        return self.filtered(lambda enrollment: enrollment.id in due_ids)

    def _is_retry_rerun(self, stage):
        """Whether ``stage`` runs again only for a new attempt of its payment
        retry, planned by the retry schedule after a soft decline."""
        self.ensure_one()
        return bool(self.retry_attempt and stage.retry_payment and self.stage_id == stage)

    @api.model
    def _get_payment_retry_reset_values(self):
        """The values that end a payment retry schedule: it belongs to the
        stage that charged, so leaving that stage, by the ladder, a move or
        a removed stage, starts the next one afresh."""
        return {"retry_attempt": 0, "retry_next_date": False}

    def action_open_invoice(self):
        self.ensure_one()
        return self.move_id._get_records_action()
