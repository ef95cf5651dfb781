from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .collection_enrollment import LADDER_STATES

SATURDAY = 5
# What a stage changes in the plan of the collections on its ladder.
PLANNING_FIELDS = {"sequence", "delay_days", "delay_from", "skip_weekends", "process_id"}


class CollectionStage(models.Model):
    _name = "collection.stage"
    _description = "Collection Stage"
    _order = "process_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    process_id = fields.Many2one("collection.process", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="process_id.company_id", store=True, index=True)

    # Timing
    delay_days = fields.Integer(
        string="Delay (days)",
        help="Days after the reference date; negative before it (reminders before the due date).",
    )
    delay_from = fields.Selection(
        [
            ("due_date", "Due date"),
            ("enrollment", "Enrollment"),
            ("previous_stage", "Previous stage"),
        ],
        string="Counted from",
        required=True,
        default="due_date",
    )
    skip_weekends = fields.Boolean(help="A date falling on a Saturday or Sunday moves to the Monday after.")

    # Actions
    send_email = fields.Boolean(string="Email")
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email template",
        domain="[('model', '=', 'collection.enrollment')]",
    )
    attach_letter = fields.Boolean(
        string="PDF letter",
        help="Render the collection letter, attach it to the chatter and to the email.",
    )
    create_activity = fields.Boolean(string="Activity")
    activity_type_id = fields.Many2one("mail.activity.type", string="Activity type")
    activity_user_id = fields.Many2one(
        "res.users",
        string="Assigned to",
        domain="[('share', '=', False)]",
        help="When empty, the process's responsible.",
    )
    activity_summary = fields.Char(translate=True)
    activity_deadline_days = fields.Integer(string="Deadline (days)", default=0)
    retry_payment = fields.Boolean(
        string="Retry saved payment method",
        help="Charge the customer's saved payment method for the amount due.",
    )
    escalate = fields.Boolean(
        help="Run the process's escalation at this stage, even if later stages follow.",
    )
    charge_late_fees = fields.Boolean(
        string="Charge late fees",
        help="Invoice the late interest, compensation and fee of the process's late charge rule, "
        "as accrued on the day the stage runs (before its messages, which show them).",
    )
    action_summary = fields.Char(compute="_compute_action_summary", string="Actions")

    @api.depends(
        "send_email",
        "attach_letter",
        "create_activity",
        "retry_payment",
        "escalate",
        "charge_late_fees",
    )
    def _compute_action_summary(self):
        labels = self._get_action_labels()
        for stage in self:
            stage.action_summary = ", ".join(label for field, label in labels if stage[field])

    def _get_action_labels(self):
        return [
            ("charge_late_fees", self.env._("Late charges")),
            ("send_email", self.env._("Email")),
            ("attach_letter", self.env._("Letter")),
            ("create_activity", self.env._("Activity")),
            ("retry_payment", self.env._("Payment retry")),
            ("escalate", self.env._("Escalation")),
        ]

    @api.constrains("mail_template_id", "send_email")
    def _check_templates(self):
        for stage in self:
            stage._check_template_model(stage.mail_template_id)
            if stage.send_email and not stage.mail_template_id:
                raise ValidationError(
                    self.env._("The stage “%(stage)s” sends an email: choose its template.", stage=stage.name)
                )

    @api.depends("name", "process_id.name")
    def _compute_display_name(self):
        """A stage with its process: several processes have a "Final
        notice", and the desk's lists and pivots mix processes."""
        for stage in self:
            if stage.process_id:
                stage.display_name = self.env._(
                    "%(process)s: %(stage)s", process=stage.process_id.name, stage=stage.name
                )
            else:
                stage.display_name = stage.name

    def _check_template_model(self, template):
        """A stage's templates render a collection: one made for another
        model would fail at the first run, or render the wrong record."""
        self.ensure_one()
        if template and template.model != "collection.enrollment":
            raise ValidationError(
                self.env._(
                    "The template “%(template)s” of stage “%(stage)s” is made for %(model)s: "
                    "a stage needs a template for Collection Enrollment.",
                    template=template.display_name,
                    stage=self.display_name,
                    model=template.model,
                )
            )

    @api.constrains("delay_days", "delay_from", "sequence", "process_id")
    def _check_stage_times_move_forward(self):
        for process in self.process_id:
            problems = process._get_stage_order_problems()
            if problems:
                raise ValidationError(problems[0])

    @api.model_create_multi
    def create(self, vals_list):
        process_ids = {
            vals.get("process_id") or self.env.context.get("default_process_id") for vals in vals_list
        }
        processes = self.env["collection.process"].browse(process_ids - {None, False})
        with processes._replanning_running_collections():
            return super().create(vals_list)

    def write(self, vals):
        if not PLANNING_FIELDS.intersection(vals):
            return super().write(vals)
        processes = self.process_id | self.env["collection.process"].browse(vals.get("process_id") or [])
        with processes._replanning_running_collections():
            return super().write(vals)

    def unlink(self):
        """Collections waiting for a removed stage move on to the stage
        after it (or to the escalation), counted as the process says; they
        are never left without a plan."""
        Enrollment = self.env["collection.enrollment"]
        # The collections are the add-on's to plan, whoever edits the process.
        waiting = Enrollment.sudo().search(
            [("next_stage_id", "in", self.ids), ("state", "in", LADDER_STATES)]
        )
        removed = {
            enrollment: (
                enrollment.next_stage_id.sequence,
                enrollment.next_stage_id.id,
                enrollment.next_stage_id.name,
            )
            for enrollment in waiting
        }
        self.env["collection.kpi.day"]._mark_stages(self)
        result = super().unlink()
        for enrollment, (sequence, stage_id, name) in removed.items():
            enrollment._replan_after_removed_stage(sequence, stage_id, name)
        return result

    def _contacts_customer(self):
        """Whether this stage sends the customer a message (the contact
        policy counts and spaces them)."""
        self.ensure_one()
        return self.send_email or self.attach_letter

    def _get_scheduled_date(self, due_date, enrollment_date, previous_action_date):
        """The day this stage runs, from the three dates it may count from."""
        self.ensure_one()
        origin = {
            "due_date": due_date or enrollment_date,
            "enrollment": enrollment_date,
            "previous_stage": previous_action_date or enrollment_date,
        }[self.delay_from]
        scheduled = origin + timedelta(days=self.delay_days)
        if self.skip_weekends and scheduled.weekday() >= SATURDAY:
            scheduled += timedelta(days=7 - scheduled.weekday())
        return scheduled
