from odoo import api, fields, models


class CollectionEnrollWizard(models.TransientModel):
    _name = "collection.enroll.wizard"
    _description = "Start Collections"

    move_ids = fields.Many2many("account.move", string="Invoices to collect", required=True)
    move_count = fields.Integer(compute="_compute_move_count")
    company_id = fields.Many2one("res.company", compute="_compute_company_id")
    process_id = fields.Many2one(
        "collection.process",
        domain="[('company_id', '=', company_id)]",
        help="Leave empty to let the segment rules choose a process for each invoice.",
    )
    enroll_count = fields.Integer(compute="_compute_enroll_plan", string="Invoices to enroll")
    rules_note = fields.Text(
        compute="_compute_rules_note",
        string="Processes by segment rules",
        help="The process the segment rules give each invoice when no process is chosen.",
    )
    skipped_note = fields.Text(
        compute="_compute_enroll_plan",
        string="Skipped",
        help="The invoices that will not be enrolled, and why.",
    )
    out_of_collections_note = fields.Text(
        compute="_compute_enroll_plan",
        string="Out of collections",
        help="Invoices whose collection escalated, was cancelled by a user or written off: the triggers "
        "leave them alone, and they start again only once you confirm it.",
    )
    reenroll = fields.Boolean(
        string="Enroll them again",
        help="Start a new collection for the invoices out of collections; an escalated collection "
        "closes as replaced.",
    )
    start_date = fields.Date(
        required=True,
        default=lambda self: self.env.company._get_collection_today(),
        help="The enrollment date, from which stages counted from enrollment are timed.",
    )

    @api.depends("move_ids")
    def _compute_move_count(self):
        for wizard in self:
            wizard.move_count = len(wizard.move_ids)

    @api.depends("move_ids", "reenroll")
    def _compute_enroll_plan(self):
        for wizard in self:
            moves = wizard.move_ids._origin
            eligible, refusals = moves._split_collectable()
            _eligible, always_refused = moves._split_collectable(reenroll=True)
            out_of_collections = [reason for move, reason in refusals.items() if move not in always_refused]
            wizard.enroll_count = len(eligible) + (len(out_of_collections) if wizard.reenroll else 0)
            wizard.skipped_note = "\n".join(always_refused.values())
            wizard.out_of_collections_note = "\n".join(out_of_collections)

    @api.depends("move_ids", "process_id")
    def _compute_rules_note(self):
        Rule = self.env["collection.segment.rule"]
        for wizard in self:
            eligible, _refusals = wizard.move_ids._origin._split_collectable(reenroll=True)
            if wizard.process_id or not eligible:
                wizard.rules_note = False
                continue
            counts = {}
            for process, rule in Rule._find_process_for_invoices(eligible).values():
                key = (process, rule)
                counts[key] = counts.get(key, 0) + 1
            wizard.rules_note = "\n".join(
                wizard._describe_rules_choice(process, rule, count)
                for (process, rule), count in counts.items()
            )

    def _describe_rules_choice(self, process, rule, count):
        if not process:
            return self.env._(
                "%(count)s invoice(s): no rule fits and the company has no default process.", count=count
            )
        why = (
            self.env._("rule %(rule)s", rule=rule.name)
            if rule
            else self.env._("the company's default process")
        )
        return self.env._(
            "%(process)s: %(count)s invoice(s), %(why)s", process=process.name, count=count, why=why
        )

    @api.depends("move_ids")
    def _compute_company_id(self):
        for wizard in self:
            wizard.company_id = wizard.move_ids.company_id[:1] or self.env.company

    @api.model
    def action_open(self, moves):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_enroll_wizard_action"
        )
        action["context"] = {"default_move_ids": moves.ids}
        return action

    def action_enroll(self):
        self.ensure_one()
        enrollments = self.move_ids.collection_enroll(
            process_id=self.process_id.id, start_date=self.start_date, reenroll=self.reenroll
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_enrollment_action"
        )
        if len(enrollments) == 1:
            action.update({"res_id": enrollments.id, "view_mode": "form", "views": [(False, "form")]})
        else:
            action["domain"] = [("id", "in", enrollments.ids)]
        return action
