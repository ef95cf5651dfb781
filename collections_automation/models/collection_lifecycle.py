from odoo import models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from .collection_enrollment import CLOSING_EVENTS, LADDER_STATES, OPEN_STATES, PAUSE_EVENTS


class CollectionEnrollmentLifecycle(models.Model):
    """A collection's life: its plan, every change of state (pause, resume,
    move, cancel, close) and the money it
    follows on its invoices. The engine, the back office and the customer's
    page all change a collection through these methods."""

    _inherit = "collection.enrollment"

    # ------------------------------------------------------------------
    # Planning
    # ------------------------------------------------------------------

    def _plan_next_stage(self, last_stage, previous_action_date, today):
        """The values that plan the stage after ``last_stage`` (or the
        escalation), by the process's one planning rule. A collection may
        already be late for several stages (counted from the due date, after
        a change of its ladder): it goes on at the latest of those, the way
        an AR clerk would, and the skipped stages are logged. A new
        collection is planned before its insert (``_plan_first_stages``)."""
        self.ensure_one()
        stage, day, skipped = self.process_id._plan_next_stage(
            self.due_date, self.enrolled_on, last_stage, previous_action_date, today
        )
        if skipped:
            self.env["collection.event"].sudo().create(
                [self._prepare_stage_skipped_values(skipped_stage) for skipped_stage, _day in skipped]
            )
        return {"next_stage_id": stage.id, "next_action_date": day}

    def _replan_after_removed_stage(self, sequence, stage_id, name):
        """The stage this collection waited for was removed: plan what
        comes after its place in the ladder, by the process's one rule."""
        self.ensure_one()
        self.write(self._get_payment_retry_reset_values())
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

    def _get_ladder_places(self):
        """{collection: the (sequence, id) place of the stage it ran last, or
        False}: read before a change of the ladder, so that a removed stage
        still marks how far a collection went."""
        return {
            collection: collection.stage_id and (collection.stage_id.sequence, collection.stage_id.id)
            for collection in self
        }

    def _get_ladder_plans(self, places):
        """{collection: (next stage, its day, [skipped (stage, day)])} as its
        process's ladder plans them after ``places[collection]``, on the day
        the collection's plan was made (its last stage's, else its
        enrollment's), as the engine made it."""
        return {
            collection: collection.process_id._plan_next_stage(
                collection.due_date,
                collection.enrolled_on,
                places[collection],
                collection.last_action_date,
                collection.last_action_date or collection.enrolled_on,
            )
            for collection in self
        }

    def _replan_by_changed_ladder(self, planned, places, stored):
        """Give the collections whose next step a changed ladder moves the
        new ladder's plan, with events that say what comes next and when
        (``planned``: the old ladder's plans; ``stored``: their plans before
        the change, which nobody else must have changed since); the moved
        ones."""
        moved = self.browse()
        events = []
        for collections in self._grouped_by_desk_lang().values():
            env = collections.env
            for collection, (stage, day, skipped) in collections._get_ladder_plans(places).items():
                if (stage, day) == planned[collection][:2]:
                    continue
                if (collection.next_stage_id, collection.next_action_date) != stored[collection]:
                    continue  # planned again already (a removed stage moves its collections on)
                collection.write({"next_stage_id": stage.id, "next_action_date": day})
                events += [
                    collection._prepare_event_values(
                        "stage_skipped",
                        stage=skipped_stage,
                        outcome="skipped",
                        message=env._("The process's stages changed: a later stage's day has come."),
                    )
                    for skipped_stage, _skipped_day in skipped
                ]
                events.append(
                    collection._prepare_event_values(
                        "stage_moved",
                        stage=stage,
                        message=env._(
                            "The process's stages changed: %(next)s now comes on %(date)s.",
                            next=stage.name or env._("the escalation"),
                            date=format_date(env, day),
                        ),
                    )
                )
                moved |= collection
        self.env["collection.event"].sudo().create(events)
        return moved

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
        label = dict(self._fields["pause_reason"]._description_selection(self.env))[reason]
        day = format_date(self.env, until) if until else ""
        message = self.env._("%(reason)s until %(date)s", reason=label, date=day) if until else label
        if note:
            message = f"{message}: {note}"
        # A promise's or a dispute's event names it already: its message
        # gives the details only.
        details = ": ".join(part for part in (until and self.env._("until %(date)s", date=day), note) if part)
        event_message = (details or label) if reason in PAUSE_EVENTS else message
        for enrollment in self:
            enrollment._log_event(
                PAUSE_EVENTS.get(reason, "paused"), message=event_message, amount=amount or 0.0
            )
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

    def _end_pause(self):
        """The pause of these collections reached its end: they resume. A
        promise to pay by a date is broken the day after it, unpaid: it is
        logged and the next stage runs at once."""
        for enrollment in self:
            if enrollment.pause_reason != "promise":
                enrollment.action_resume()
                continue
            message = self.env._(
                "The promise to pay by %(date)s was not kept.",
                date=format_date(self.env, enrollment.pause_until),
            )
            enrollment._log_event(
                "promise_broken", outcome="failed", amount=enrollment.promise_amount, message=message
            )
            enrollment.message_post(body=message)
            enrollment.action_resume()
            if enrollment.state == "running" and enrollment.next_action_date:
                enrollment.next_action_date = enrollment._company_today()

    def action_run_next_now(self):
        """Run the next stage of these enrollments now, as the engine would
        (locked, once-only, within the contact policy and the holds),
        instead of waiting for its day; the chatter and a notification say
        what happened, the stage run or why it waits."""
        running = self.filtered(lambda e: e.state == "running" and e.next_stage_id)
        if not running:
            raise UserError(self.env._("Only a running collection with a next stage can run it now."))
        stages = {enrollment: enrollment.next_stage_id for enrollment in running}
        running.write({"next_action_date": running[:1]._company_today()})
        last_event_id = self.env["collection.event"].search([], order="id desc", limit=1).id
        self.env["collection.engine"]._run_now(running)
        outcomes = running._get_run_now_outcomes(stages, last_event_id)
        for enrollment, (_ran, message) in outcomes.items():
            enrollment.message_post(body=message)
        waiting = [message for ran, message in outcomes.values() if not ran]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if waiting else "success",
                "message": "\n".join(waiting)
                or self.env._("%(count)s stage(s) ran now.", count=len(outcomes)),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _get_run_now_outcomes(self, stages, last_event_id):
        """{enrollment: (whether its stage ran, what to tell)} after a run
        asked by a user: the events logged since ``last_event_id`` say
        whether the stage ran, waits (the contact policy deferred it),
        failed, or another run holds the collection."""
        events = self.env["collection.event"].search(
            [("enrollment_id", "in", self.ids), ("id", ">", last_event_id)]
        )
        events_by_enrollment = events.grouped("enrollment_id")
        outcomes = {}
        for enrollment in self:
            stage, own = stages[enrollment], events_by_enrollment.get(enrollment, events.browse())
            user = self.env.user.name
            deferred = own.filtered(lambda e: e.action == "deferred")[:1]
            failed = own.filtered(lambda e: e.action == "error")[:1]
            if deferred:
                why = self.env._("it waits: %(reason)s", reason=deferred.message)
            elif failed:
                why = self.env._("it failed: %(error)s", error=failed.message)
            elif enrollment.state != "running":
                state = dict(enrollment._fields["state"]._description_selection(self.env))[enrollment.state]
                why = self.env._("the collection is %(state)s.", state=state.lower())
            elif not own.filtered(lambda e, s=stage: e.stage_id == s):
                why = self.env._("the engine is running this collection right now; try again in a moment.")
            else:
                outcomes[enrollment] = (
                    True,
                    self.env._("%(user)s ran the stage %(stage)s now.", user=user, stage=stage.name),
                )
                continue
            outcomes[enrollment] = (
                False,
                self.env._(
                    "%(user)s asked to run the stage %(stage)s now, but %(why)s",
                    user=user,
                    stage=stage.name,
                    why=why,
                ),
            )
        return outcomes

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
                    "backoff_until": False,
                    **self._get_payment_retry_reset_values(),
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
            enrollment._post_note(message)

    def action_approve_legal(self):
        self.env["collection.legal.action"]._approve(self)
        return True

    def action_refuse_legal(self):
        return self.env["collection.legal.refuse"].action_open(self)

    # ------------------------------------------------------------------
    # Money
    # ------------------------------------------------------------------

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
                enrollment._post_note(message)

    def _post_note(self, body):
        """Post ``body`` in the chatter of these collections. What a
        visitor's online payment causes is told by OdooBot: Odoo's payment
        pages run as the public user, whose name means nothing on a desk."""
        user = self.env.user
        author = self.env.ref("base.partner_root") if user._is_public() else user.partner_id
        for enrollment in self:
            enrollment.message_post(body=body, author_id=author.id)

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
