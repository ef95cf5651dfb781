from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_date

from .collection_enrollment import LADDER_STATES
from .res_company import parse_retry_schedule

# What a process changes in the plan of the collections on its ladder.
LADDER_FIELDS = {"stage_ids", "escalation_delay_days"}


class CollectionProcess(models.Model):
    _name = "collection.process"
    _description = "Collection Process"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    description = fields.Html(translate=True)
    stage_ids = fields.One2many("collection.stage", "process_id", string="Stages", copy=True)
    stage_count = fields.Integer(compute="_compute_stage_count")
    preview_invoice_id = fields.Many2one(
        "account.move",
        string="Sample invoice",
        check_company=True,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('company_id', '=', company_id)]",
        help="The invoice the timeline follows, enrolled today; an invoice due today when empty.",
    )
    timeline_preview = fields.Html(compute="_compute_timeline_preview", string="Timeline")
    trigger_enroll_count = fields.Integer(
        compute="_compute_trigger_enroll_count",
        string="Would enroll today",
        help="Open invoices that this process's triggers would enroll at the next engine run.",
    )
    enrollment_ids = fields.One2many("collection.enrollment", "process_id", string="Enrollments")
    running_enrollment_count = fields.Integer(compute="_compute_running_enrollment_count")

    # Enrollment triggers
    auto_enroll_overdue = fields.Boolean(
        string="Enroll overdue invoices",
        help="The engine enrolls every open invoice that is overdue by more than the grace period "
        "and that this process would get from the segment rules.",
    )
    grace_days = fields.Integer(
        string="Grace period (days)", default=lambda self: self.env.company.collection_grace_days
    )
    auto_enroll_pre_due = fields.Boolean(
        string="Enroll before the due date",
        help="The engine enrolls open invoices this many days before they fall due, "
        "so that the process can send friendly reminders.",
    )
    pre_due_days = fields.Integer(string="Days before due date", default=5)
    enroll_on_payment_failure = fields.Boolean(
        string="Enroll on failed payment",
        help="An invoice whose online payment fails is enrolled in this process.",
    )

    # Messages
    consolidate = fields.Boolean(
        string="One email per customer",
        help="When several invoices of one customer are due for the same stage on the same run, "
        "send one email that covers them all.",
    )
    email_from = fields.Char(string="Send from", help="Sender of the emails; the company's email when empty.")
    reply_to = fields.Char(string="Reply to")
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        check_company=True,
        domain="[('share', '=', False)]",
        help="Gets the activities of this process; when empty, the invoice's salesperson.",
    )
    team_user_ids = fields.Many2many(
        "res.users",
        string="Team",
        domain="[('share', '=', False)]",
        help="When no responsible is set, activities are shared among the team, one customer each.",
    )

    # Payment page
    payment_page_title = fields.Char(translate=True, default=lambda self: self.env._("Your payment request"))
    payment_page_description = fields.Html(translate=True)
    allow_promise = fields.Boolean(
        string="Customers can promise to pay",
        default=True,
        help="The payment page offers a promise to pay: the process pauses until the promised date.",
    )
    promise_max_days = fields.Integer(
        string="Promise within (days)",
        default=14,
        help="The latest promised date a customer can choose, in days from today.",
    )
    promise_max_count = fields.Integer(
        string="Promises per request",
        default=2,
        help="How many promises to pay a customer can make for one request, kept, broken or improved.",
    )
    promise_min_share = fields.Integer(
        string="Promise at least (%)",
        default=100,
        help="The share of the amount due a promise must cover. 100: a promise is for the whole amount; "
        "less lets customers promise part of it.",
    )
    allow_dispute = fields.Boolean(
        string="Customers can dispute",
        default=True,
        help="The payment page lets the customer dispute: the process pauses and the responsible "
        "gets an activity.",
    )

    # Payment retries
    retry_schedule = fields.Char(
        default=lambda self: self.env.company.collection_retry_schedule,
        help="Days to wait before charging the saved payment method again after a soft decline "
        "(insufficient funds, a processing error), one wait per new attempt, such as “3, 7”. The "
        "enrollment stays at its retry stage until the schedule is done, then moves on. Empty: no "
        "new attempt.",
    )

    # Escalation
    late_charge_rule_id = fields.Many2one(
        "collection.late.charge.rule",
        string="Late charge rule",
        check_company=True,
        help="How the stages that charge late fees compute them; a segment rule may choose another.",
    )
    escalation_legal = fields.Boolean(
        string="Legal action",
        help="At escalation, ask the Collections administrators to approve legal action; once approved, "
        "the demand letter of the customer's country and the evidence pack are attached to the collection.",
    )
    legal_deadline_days = fields.Integer(
        string="Demand deadline (days)", default=14, help="The days the demand letter gives to pay."
    )
    escalation_activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Escalation activity",
        help="Activity scheduled for the responsible when the process escalates.",
    )
    escalation_tag_ids = fields.Many2many(
        "res.partner.category",
        string="Tag the customer",
        help="Tags added to the customer when the process escalates.",
    )
    escalation_delay_days = fields.Integer(
        string="Escalate after (days)",
        default=7,
        help="Days after the last stage before the process escalates, so that the deadline the final "
        "notice gives can pass. A payment, a promise or a dispute in between stops it.",
    )
    escalation_set_bad_debtor = fields.Boolean(
        string="Mark as bad debtor",
        help="Set the customer's degree of trust to 'Bad Debtor' when the process escalates.",
    )

    def write(self, vals):
        if not LADDER_FIELDS.intersection(vals):
            return super().write(vals)
        # The stages written through the process are planned once, here.
        processes = self | self._get_other_processes_changed_by(vals.get("stage_ids") or [])
        with processes._replanning_running_collections():
            return super(CollectionProcess, self.with_context(collection_replanning=True)).write(vals)

    @api.model
    def _get_other_processes_changed_by(self, stage_value):
        """The processes whose ladders a write of ``stage_value`` to
        ``stage_ids`` also changes: those losing a stage linked (or set) to
        these, and those a stage is moved to. Their collections need a plan
        on their own ladder too. The value is any the ORM takes: commands,
        ids, or records."""
        if isinstance(stage_value, models.BaseModel):
            stage_value = [Command.set(stage_value.ids)]
        taken, receiving = set(), set()
        for command in stage_value:
            if isinstance(command, int):
                taken.add(command)
            elif command[0] == Command.LINK:
                taken.add(command[1])
            elif command[0] == Command.SET:
                taken.update(command[2])
            elif command[0] == Command.UPDATE and command[2].get("process_id"):
                receiving.add(command[2]["process_id"])
        return self.env["collection.stage"].browse(taken).process_id | self.browse(receiving)

    @api.depends("stage_ids")
    def _compute_stage_count(self):
        for process in self:
            process.stage_count = len(process.stage_ids)

    @api.depends(
        "stage_ids.sequence",
        "stage_ids.name",
        "stage_ids.delay_days",
        "stage_ids.delay_from",
        "stage_ids.skip_weekends",
        "stage_ids.action_summary",
        "preview_invoice_id",
        "company_id",
    )
    def _compute_timeline_preview(self):
        for process in self:
            process.timeline_preview = process._render_timeline(process._get_timeline())

    def _get_timeline(self):
        """[(stage, day, skipped)] for the sample invoice enrolled today, as
        the engine runs it, then (no stage, the escalation day, False)."""
        self.ensure_one()
        today = (self.company_id or self.env.company)._get_collection_today()
        due_date = self.preview_invoice_id.invoice_date_due or today
        if not self.stage_ids:
            return []
        return self._plan_ladder(due_date, today, self.env["collection.stage"], False, today)

    def _render_timeline(self, timeline):
        rows = [
            self._prepare_timeline_row(stage, day, "skipped" if skipped else "planned")
            for stage, day, skipped in timeline
        ]
        return self._render_timeline_rows(
            rows,
            footer=self.env._(
                "After the last stage, an invoice still unpaid is escalated %(days)s day(s) later.",
                days=self.escalation_delay_days,
            ),
            problems=self._get_stage_order_problems(),
        )

    def _render_timeline_rows(self, rows, footer=False, show_status=False, problems=()):
        """``problems``: what is wrong with the ladder, said above it."""
        return self.env["ir.qweb"]._render(
            "collections_automation.collection_timeline",
            {
                "rows": rows,
                "footer": footer,
                "show_status": show_status,
                "problems": problems,
                "empty_message": self.env._("Add stages to see their dates."),
            },
        )

    def _prepare_timeline_row(self, stage, day, status, label=None, actions=None):
        """One row of a timeline: ``stage`` empty for the escalation."""
        statuses = {
            "skipped": self.env._("skipped"),
            "planned": self.env._("planned"),
            "done": self.env._("done"),
            "failed": self.env._("failed"),
        }
        # A planned step says what it will do; an event that happened keeps
        # its own words (a deferral's reason, say).
        if actions is None and status == "skipped":
            actions = self.env._("skipped: a later stage's day has come")
        elif actions is None:
            actions = stage.action_summary if stage else self.env._("Escalation")
        return {
            "date": day,
            "date_label": format_date(self.env, day),
            "weekday": format_date(self.env, day, date_format="EEE"),
            "stage": label or stage.name or self.env._("Escalation"),
            "actions": actions or "",
            "status": status,
            "status_label": statuses.get(status, status),
            "muted": status in ("skipped", "done", "failed"),
        }

    @api.depends(
        "auto_enroll_overdue",
        "grace_days",
        "auto_enroll_pre_due",
        "pre_due_days",
        "company_id.collection_auto_enroll",
    )
    def _compute_trigger_enroll_count(self):
        Engine = self.env["collection.engine"]
        for process in self:
            origin = process._origin
            if not origin or not (process.auto_enroll_overdue or process.auto_enroll_pre_due):
                process.trigger_enroll_count = 0
                continue
            process.trigger_enroll_count = sum(
                len(chunk) for chunk in Engine._get_auto_enroll_choices(origin.company_id, origin)
            )

    def _compute_running_enrollment_count(self):
        counts = dict(
            self.env["collection.enrollment"]._read_group(
                [("process_id", "in", self.ids), ("state", "in", LADDER_STATES)],
                groupby=["process_id"],
                aggregates=["__count"],
            )
        )
        for process in self:
            process.running_enrollment_count = counts.get(process, 0)

    @api.constrains("active", "stage_ids")
    def _check_active_process_has_stages(self):
        for process in self:
            if process.active and not process.stage_ids:
                raise ValidationError(
                    self.env._(
                        "The process “%(process)s” has no stage: add at least one stage before "
                        "activating it.",
                        process=process.display_name,
                    )
                )

    @api.constrains("grace_days", "pre_due_days", "escalation_delay_days")
    def _check_trigger_days(self):
        for process in self:
            if process.escalation_delay_days < 0:
                raise ValidationError(self.env._("The days before escalation cannot be negative."))
            if process.grace_days < 0 or process.pre_due_days < 0:
                raise ValidationError(
                    self.env._("Grace period and days before the due date cannot be negative.")
                )

    @api.constrains("allow_promise", "promise_max_days", "promise_max_count", "promise_min_share")
    def _check_promise_max_days(self):
        for process in self.filtered("allow_promise"):
            if process.promise_max_days < 1:
                raise ValidationError(self.env._("A promise to pay must be allowed at least one day ahead."))
            if process.promise_max_count < 1:
                raise ValidationError(self.env._("Allow at least one promise per request, or none at all."))
            if not 1 <= process.promise_min_share <= 100:
                raise ValidationError(self.env._("A promise covers between 1% and 100% of the amount due."))

    @api.constrains("retry_schedule")
    def _check_retry_schedule(self):
        for process in self:
            parse_retry_schedule(self.env, process.retry_schedule)

    def _get_trigger_domain(self, today):
        """The one rule of which invoices this process's triggers enroll on
        ``today``: overdue past its grace period, or due within its days
        before the due date."""
        self.ensure_one()
        domain = Domain.FALSE
        if self.auto_enroll_overdue:
            domain |= Domain("invoice_date_due", "<", today - timedelta(days=self.grace_days))
        if self.auto_enroll_pre_due:
            domain |= Domain("invoice_date_due", "<=", today + timedelta(days=self.pre_due_days))
        return domain

    def _get_routed_invoice_domain(self):
        """A filter that every invoice the segment rules give this process
        passes: any invoice for the company's default process, else those
        of its rules (``_get_routing_domain``)."""
        self.ensure_one()
        if self.company_id.collection_default_process_id == self:
            return Domain.TRUE
        rules = self.env["collection.segment.rule"].search([("process_id", "=", self.id)])
        return Domain.OR(rule._get_routing_domain() for rule in rules)

    def _get_retry_waits(self):
        """The days to wait before each new attempt after a soft decline."""
        self.ensure_one()
        return parse_retry_schedule(self.env, self.retry_schedule)

    def action_activate(self):
        """Ask before activating: the dialog says how many open invoices the
        triggers enroll at the next engine run."""
        self.ensure_one()
        if not self.stage_ids:
            raise UserError(
                self.env._(
                    "The process “%(process)s” has no stage: add at least one stage before activating it.",
                    process=self.display_name,
                )
            )
        activation = self.env["collection.process.activation"].create({"process_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Activate %(process)s", process=self.display_name),
            "res_model": "collection.process.activation",
            "res_id": activation.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_enrollments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_enrollment_action"
        )
        action["domain"] = [("process_id", "in", self.ids)]
        action["context"] = {"default_process_id": self.id}
        return action

    def _get_email_from(self):
        """The sender of this process's emails: its own, else the company's
        collections sender (False: the template's, else the company's)."""
        self.ensure_one()
        return self.email_from or self.company_id.collection_email_from

    def _get_reply_to(self):
        self.ensure_one()
        return self.reply_to or self.company_id.collection_reply_to

    def _get_responsible_user(self, enrollment):
        """Who gets the activities of ``enrollment``: the process's
        responsible, else one of its team (stable per customer), else the
        invoice's salesperson."""
        self.ensure_one()
        if self.user_id:
            return self.user_id
        if self.team_user_ids:
            team = self.team_user_ids.sorted("id")
            return team[enrollment.partner_id.id % len(team)]
        return enrollment.move_id.invoice_user_id or self.env.user
