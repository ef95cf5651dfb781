from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from .collection_enrollment import LADDER_STATES, OPEN_STATES

# What of an invoice the KPIs' days depend on (collection.kpi.day).
KPI_DAY_MOVE_FIELDS = frozenset(("state", "date", "invoice_date"))


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "collection.late.charge.waiver"]

    collection_enrollment_ids = fields.One2many("collection.enrollment", "move_id", string="Collections")
    collection_late_invoice_id = fields.Many2one(
        "account.move",
        string="Late charges of",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The late invoice whose interest, compensation or fee this invoice charges.",
    )
    collection_charge_move_ids = fields.One2many(
        "account.move", "collection_late_invoice_id", string="Late charge invoices"
    )
    collection_notice_date = fields.Date(
        string="Formal notice sent on",
        compute="_compute_collection_notice_date",
        store=True,
        readonly=False,
        copy=False,
        help="The day the customer was given formal notice to pay: the first reminder the collection emailed "
        "after the due date, or the day of a notice sent another way (a letter: the day it was posted). The "
        "consumer late charge rules of Germany, France, Belgium, Spain and the Netherlands count interest "
        "from it.",
        groups="collections_automation.collections_automation_group_user",
    )
    collection_enrollment_id = fields.Many2one(
        "collection.enrollment",
        string="Collection",
        compute="_compute_collection_enrollment",
        store=True,
        index="btree_not_null",
        help="The latest collection of this invoice.",
    )
    collection_days_overdue = fields.Integer(
        string="Days overdue",
        compute="_compute_collection_days_overdue",
        help="Days since the due date, on the company's calendar; 0 when not due yet.",
    )
    collection_state = fields.Selection(related="collection_enrollment_id.state", string="Collection status")
    collection_stage_id = fields.Many2one(
        related="collection_enrollment_id.stage_id", string="Collection stage"
    )
    collection_next_action_date = fields.Date(
        related="collection_enrollment_id.next_action_date", string="Next collection action"
    )

    # The triggers' hourly search (collection.engine) starts from the open
    # customer invoices by due date: a few of the ledger, not all of it.
    _collection_open_invoice_idx = models.Index(
        "(company_id, invoice_date_due) WHERE move_type = 'out_invoice' AND state = 'posted' "
        "AND payment_state IN ('not_paid', 'partial')"
    )

    def _compute_collection_days_overdue(self):
        for move in self:
            company = move.company_id or self.env.company
            move.collection_days_overdue = company._get_collection_days_overdue(move.invoice_date_due)

    @api.depends("collection_enrollment_ids")
    def _compute_collection_enrollment(self):
        """The latest collection, looked up for the batch (measured: sorting
        each invoice's collections was a twentieth of an engine run that
        enrolls thousands)."""
        saved = self.filtered("id")
        Enrollment = self.env["collection.enrollment"]
        latest = dict(Enrollment._read_group([("move_id", "in", saved.ids)], ["move_id"], ["id:max"]))
        for move in saved:
            move.collection_enrollment_id = Enrollment.browse(latest.get(move))
        for move in self - saved:
            move.collection_enrollment_id = move.collection_enrollment_ids.sorted("id", reverse=True)[:1]

    @api.depends("collection_enrollment_ids.event_ids")
    def _compute_collection_notice_date(self):
        """The day of the first reminder a collection emailed after the due
        date. A date already there stays: the first notice's, or one an
        accountant set for a notice sent another way. Each new event of a
        collection recomputes its invoice: only the formal notices are read
        (measured: reading every event of every collection was a twentieth
        of an engine run)."""
        pending = self.filtered(lambda move: not move.collection_notice_date and move.invoice_date_due)
        if not pending:
            return
        Event = self.env["collection.event"]
        # An invoice being edited is a new record: its events are its origin's.
        notices = Event.search_fetch(
            Event._get_formal_notice_domain() & Domain("enrollment_id.move_id", "in", pending._origin.ids),
            ["date", "enrollment_id"],
        )
        days_by_move = defaultdict(list)
        for event in notices:
            days_by_move[event.enrollment_id.move_id.id].append(event._get_company_date())
        for move in pending:
            days = days_by_move[move._origin.id]
            if after_due := [day for day in days if day > move.invoice_date_due]:
                move.collection_notice_date = min(after_due)

    @api.model
    def _get_collectable_conditions(self):
        """The one rule of which invoices can be collected, as (domain, why
        not) pairs: posted customer invoices with money due, not excluded
        from follow-up, of a customer who is not on collection hold, and not
        the late charges of an invoice in collections (they are collected
        with it). The triggers, ``collection_enroll`` and the demo search
        with all the domains; an invoice outside them is told the reason of
        the first it fails."""
        return [
            (Domain("move_type", "=", "out_invoice"), lambda move: move._get_not_an_invoice_reason()),
            (Domain("state", "=", "posted"), lambda move: move._get_not_posted_reason()),
            (
                Domain("payment_state", "in", ("not_paid", "partial")),
                lambda move: move.env._("%(move)s has nothing left to pay.", move=move.display_name),
            ),
            (
                ~self._get_followup_excluded_domain(),
                lambda move: move.env._("%(move)s is excluded from follow-up.", move=move.display_name),
            ),
            (
                Domain("commercial_partner_id.collection_hold", "!=", True),
                lambda move: move.env._(
                    "%(partner)s is on collection hold.", partner=move.commercial_partner_id.display_name
                ),
            ),
            (
                Domain(
                    "collection_late_invoice_id",
                    "not any",
                    [("collection_enrollment_ids", "any", [("state", "in", OPEN_STATES)])],
                ),
                lambda move: move.env._(
                    "%(move)s charges the late payment of %(invoice)s: it is collected with that invoice.",
                    move=move.display_name,
                    invoice=move.collection_late_invoice_id.display_name,
                ),
            ),
        ]

    @api.model
    def _get_followup_excluded_domain(self):
        """Invoices excluded from follow-up (Odoo's *No Follow-Up* on the
        receivable line): nobody is contacted or charged for them."""
        receivable = Domain("account_type", "=", "asset_receivable") & Domain("no_followup", "=", True)
        return Domain("line_ids", "any", receivable)

    @api.model
    def _get_collectable_domain(self):
        return Domain.AND(domain for domain, _why_not in self._get_collectable_conditions())

    def _get_not_an_invoice_reason(self):
        if self.move_type == "out_refund":
            return self.env._("%(move)s is a credit note.", move=self.display_name)
        return self.env._("%(move)s is not a customer invoice.", move=self.display_name)

    def _get_not_posted_reason(self):
        state = dict(self._fields["state"]._description_selection(self.env))[self.state]
        return self.env._(
            "%(move)s is %(state)s: only posted invoices can be collected.",
            move=self.display_name,
            state=state,
        )

    def _get_collection_refusal(self, reenroll=False):
        """Why this invoice cannot be enrolled, or False."""
        self.ensure_one()
        return self._get_uncollectable_reason() or self._get_collection_conflict(reenroll=reenroll)

    def _get_collection_conflict(self, reenroll=False):
        """Why the invoice's own collections keep it from a new one, or
        False. With ``reenroll``, an invoice whose collection escalated, was
        cancelled by a user or written off may start again: a person
        confirmed it."""
        self.ensure_one()
        enrollments = self.collection_enrollment_ids
        if enrollments.filtered(lambda e: e.state in LADDER_STATES):
            return self.env._("%(move)s is already in a collection process.", move=self.display_name)
        if not reenroll and enrollments.filtered_domain(enrollments._get_no_reenrollment_domain()):
            return self._get_out_of_collections_reason()
        return False

    def _get_uncollectable_reason(self):
        """Why the invoice falls outside ``_get_collectable_domain``, or
        False."""
        self.ensure_one()
        for domain, why_not in self._get_collectable_conditions():
            if not self.filtered_domain(domain):
                return why_not(self)
        return False

    def _get_out_of_collections_reason(self):
        """Why the triggers leave this invoice alone: its last collection
        escalated, was cancelled by a user or written off."""
        self.ensure_one()
        last = self.collection_enrollment_ids.filtered_domain(
            self.env["collection.enrollment"]._get_no_reenrollment_domain()
        ).sorted("id")[-1:]
        if last.escalated_on:
            why = self.env._(
                "its collection %(name)s escalated on %(date)s", name=last.name, date=last.escalated_on
            )
        elif last.state == "written_off":
            why = self.env._("its collection %(name)s was written off", name=last.name)
        else:
            why = self.env._("its collection %(name)s was cancelled by a user", name=last.name)
        return self.env._(
            "%(move)s is out of collections: %(why)s. Confirm to enroll it again.",
            move=self.display_name,
            why=why,
        )

    def _split_collectable(self, reenroll=False):
        """(invoices that can be enrolled now, {invoice: why not} for the others)."""
        collectable = self.search(Domain("id", "in", self.ids) & self._get_collectable_domain())
        refusals = {}
        for move in self:
            if move in collectable:
                reason = move._get_collection_conflict(reenroll=reenroll)
            else:
                reason = move._get_uncollectable_reason() or self.env._(
                    "%(move)s cannot be collected.", move=move.display_name
                )
            if reason:
                refusals[move] = reason
        return self.filtered(lambda move: move not in refusals), refusals

    def collection_enroll(self, process_id=False, start_date=False, strict=False, reenroll=False):
        """Enroll these invoices in collections and return the enrollments.

        With no ``process_id``, segment rules choose the process of each
        invoice (the company's default process when no rule fits). The
        invoices that cannot be enrolled are skipped, and the user is told
        which and why; with ``strict``, nothing is enrolled and every reason
        is raised at once. ``reenroll``: a person confirmed that invoices
        whose collection escalated, was cancelled or written off start again;
        their escalated collection closes as replaced."""
        self.env["collection.enrollment"].check_access("create")
        self.check_access("read")
        process = self.env["collection.process"].browse(process_id)
        if process_id and not process.exists():
            raise UserError(self.env._("The collection process %(id)s does not exist.", id=process_id))
        eligible, refusals = self._split_collectable(reenroll=reenroll)
        if process:
            choices = dict.fromkeys(eligible, (process, self.env["collection.segment.rule"]))
        else:
            choices = self.env["collection.segment.rule"]._find_process_for_invoices(eligible)
        for move, (chosen, _rule) in list(choices.items()):
            if not chosen:
                del choices[move]
                refusals[move] = self.env._(
                    "No segment rule fits %(move)s and the company has no default process: choose a "
                    "process, or set a default one in the Collections settings.",
                    move=move.display_name,
                )
        if refusals and (strict or not choices):
            raise UserError(
                self.env._("Collections cannot start:\n%(reasons)s", reasons="\n".join(refusals.values()))
            )
        chosen_moves = self.browse(move.id for move in choices)
        # Enrollments belong to the collections team, not to whoever posted
        # the invoice; access was checked above.
        replaced = chosen_moves.sudo().collection_enrollment_ids.filtered(lambda e: e.state == "escalated")
        replaced._close(
            "cancelled",
            self.env._("Replaced by a new collection started by %(user)s.", user=self.env.user.name),
            cancel_reason="reenrolled",
        )
        # Before the new rows: one open collection per invoice is a unique index.
        replaced.flush_recordset()
        enrollments = (
            self.env["collection.enrollment"]
            .sudo()
            .create(
                [
                    move._prepare_collection_enrollment_values(chosen, rule, start_date)
                    for move, (chosen, rule) in choices.items()
                ]
            )
            .sudo(False)
        )
        if refusals:
            self._notify_collection_skipped(enrollments, refusals)
        return enrollments

    def _notify_collection_skipped(self, enrollments, refusals):
        self.env.user._bus_send(
            "simple_notification",
            {
                "type": "warning",
                "sticky": True,
                "title": self.env._(
                    "%(enrolled)s invoice(s) enrolled, %(skipped)s skipped",
                    enrolled=len(enrollments),
                    skipped=len(refusals),
                ),
                "message": "\n".join(refusals.values()),
            },
        )

    def _prepare_collection_enrollment_values(self, process, rule, start_date=False):
        self.ensure_one()
        charged_before, charges_due = self._get_collection_charge_figures()
        values = {
            "move_id": self.id,
            "partner_id": self.commercial_partner_id.id,
            "company_id": self.company_id.id,
            "process_id": process.id,
            "segment_rule_id": rule.id,
            "currency_id": self.currency_id.id,
            # Late charges of an earlier collection still due are owed in
            # this one too.
            "amount_due_at_enrollment": self.amount_residual + charges_due,
            "late_charges_before": charged_before,
            "due_date": self.invoice_date_due,
            "reference": self.name,
        }
        if start_date:
            values["enrolled_on"] = start_date
        return values

    def action_collection_enroll(self):
        """Open the wizard that starts collections on the selected invoices."""
        return self.env["collection.enroll.wizard"].action_open(self)

    def action_open_collection(self):
        self.ensure_one()
        return self.collection_enrollment_id._get_records_action(name=self.env._("Collection"))

    def action_waive_late_charges(self):
        return self.env["collection.late.charge.waive"].action_open(self)

    def action_test_collection_rules(self):
        self.ensure_one()
        return self.env["collection.rule.test"].action_open(move=self)

    def write(self, vals):
        if not KPI_DAY_MOVE_FIELDS.intersection(vals):
            return super().write(vals)
        Day = self.env["collection.kpi.day"]
        Day._mark_moves(self)
        result = super().write(vals)
        Day._mark_moves(self)
        return result

    def unlink(self):
        # The database deletes their collections with them, past the
        # collections' own hooks. Read as superuser: whoever may delete the
        # invoice deletes its collections.
        enrollments = self.sudo().collection_enrollment_ids
        Day = self.env["collection.kpi.day"]
        Day._mark_enrollments(enrollments, Day._get_enrollment_keys(enrollments), after={})
        return super().unlink()

    def button_cancel(self):
        result = super().button_cancel()
        self._collection_sync()
        return result

    def button_draft(self):
        result = super().button_draft()
        self._collection_sync()
        return result

    def _get_collection_charge_figures(self):
        """(charged, still due) of the invoice's posted late charges:
        charged is net of the credit notes that reversed them (waivers)."""
        self.ensure_one()
        charges = self.collection_charge_move_ids.filtered(lambda move: move.state == "posted")
        waived = charges.reversal_move_ids.filtered(lambda move: move.state == "posted")
        charged = sum(charges.mapped("amount_total")) - sum(waived.mapped("amount_total"))
        return charged, sum(charges.mapped("amount_residual"))

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        # A posted late charge is due with its invoice's collection.
        posted.filtered("collection_late_invoice_id")._collection_sync()
        return posted

    def _collection_sync(self):
        # A charge invoice's payments and states count in its late invoice's
        # collection.
        moves = self.sudo() | self.sudo().collection_late_invoice_id
        enrollments = moves.collection_enrollment_ids.filtered(lambda e: e.state in OPEN_STATES)
        # The payment or the cancellation was allowed to this user; closing
        # the enrollment that follows the invoice is a consequence of it.
        enrollments._sync_with_invoices()
