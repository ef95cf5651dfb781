from contextlib import contextmanager
from datetime import timedelta

from odoo import models
from odoo.fields import Domain

from .collection_enrollment import LADDER_STATES


class CollectionProcessPlanning(models.Model):
    """The planning of a collection's stages: one rule, used by the engine
    to plan what comes next, by the process designer's preview and by a
    collection's timeline, so that none of them can disagree."""

    _inherit = "collection.process"

    def _plan_next_stage(self, due_date, enrolled_on, last_stage, previous_action_date, today):
        """The one rule of what comes after ``last_stage`` (the first stage
        when empty), for the engine, the designer's preview and a
        collection's timeline: (stage, day, [(skipped stage, its day)]).
        ``last_stage`` may also be the (sequence, id) place of a stage that
        was removed. A stage is skipped when the day of the stage after it
        has come by ``today``: an invoice enrolled late starts at the latest
        stage due. No stage left: (empty, the escalation day, [])."""
        self.ensure_one()
        position = lambda stage: (stage.sequence, stage.id or 0)  # noqa: E731
        after = last_stage if isinstance(last_stage, tuple) else last_stage and position(last_stage)
        remaining = self.stage_ids.filtered(lambda stage: not after or position(stage) > after).sorted(
            position
        )
        if not remaining:
            return self.env["collection.stage"], self._get_escalation_day(previous_action_date or today), []
        candidate = remaining[0]
        candidate_day = candidate._get_scheduled_date(due_date, enrolled_on, previous_action_date)
        skipped = []
        for following in remaining[1:]:
            following_day = following._get_scheduled_date(due_date, enrolled_on, candidate_day)
            if following_day > today:
                break
            skipped.append((candidate, candidate_day))
            candidate, candidate_day = following, following_day
        return candidate, candidate_day, skipped

    def _get_escalation_day(self, last_action_date):
        """The escalation runs once the deadline the last stage gave has passed."""
        self.ensure_one()
        return last_action_date + timedelta(days=self.escalation_delay_days)

    def _plan_ladder(self, due_date, enrolled_on, last_stage, last_action_date, today):
        """Every step after ``last_stage`` as the engine will run them, each
        stage on the day it is reached: [(stage, day, skipped)], ending with
        (no stage, the escalation day, False)."""
        self.ensure_one()
        steps, stage, previous, day = [], last_stage, last_action_date, today
        while True:
            following, following_day, skipped = self._plan_next_stage(
                due_date, enrolled_on, stage, previous, day
            )
            steps += [(skipped_stage, skipped_day, True) for skipped_stage, skipped_day in skipped]
            if not following:
                steps.append((following, following_day, False))
                return steps
            day = max(following_day, day)
            steps.append((following, day, False))
            stage, previous = following, day

    def _get_stage_order_problems(self):
        """What makes this ladder's order wrong, one message per stage that
        would run before the stage above it (counted from the same date),
        for the designer's preview before the constraint refuses to save."""
        self.ensure_one()
        problems, previous_by_origin = [], {}
        for stage in self.stage_ids.sorted(lambda stage: (stage.sequence, stage.id or 0)):
            if stage.delay_from == "previous_stage":
                if stage.delay_days < 0:
                    problems.append(
                        self.env._(
                            "The stage “%(stage)s” cannot run before the previous stage: "
                            "its delay must be zero or more days.",
                            stage=stage.name,
                        )
                    )
                continue
            previous = previous_by_origin.get(stage.delay_from)
            if previous and stage.delay_days < previous.delay_days:
                problems.append(
                    self.env._(
                        "Stage times must not go backwards: “%(stage)s” (%(days)s days) comes after "
                        "“%(previous)s” (%(previous_days)s days) in the process “%(process)s”.",
                        stage=stage.name,
                        days=stage.delay_days,
                        previous=previous.name,
                        previous_days=previous.delay_days,
                        process=self.name or "",
                    )
                )
                continue
            previous_by_origin[stage.delay_from] = stage
        return problems

    def _get_replanning_domain(self):
        """The collections a change of these ladders plans again: on the
        ladder, and not charging a saved card again (a retry schedule
        belongs to the stage that charged)."""
        return (
            Domain("process_id", "in", self.ids)
            & Domain("state", "in", LADDER_STATES)
            & Domain("retry_attempt", "=", 0)
        )

    @contextmanager
    def _replanning_running_collections(self):
        """Around a change of these processes' ladders (a stage's delay or
        place, a new stage, the escalation's delay): the collections whose
        next step the ladder had planned get the new ladder's plan, an
        event that says so, and the process a note with how many moved. A
        plan a person or the contact policy set (a move, a deferral) stays."""
        if not self or self.env.context.get("collection_replanning"):
            yield
            return
        # The collections are the add-on's to plan, whoever edits the process.
        collections = self.env["collection.enrollment"].sudo().search(self._get_replanning_domain())
        places = collections._get_ladder_places()
        planned = collections._get_ladder_plans(places)
        stored = {
            collection: (collection.next_stage_id, collection.next_action_date) for collection in collections
        }
        following_ladder = collections.filtered(
            lambda collection: planned[collection][:2] == stored[collection]
        )
        yield
        moved = following_ladder._replan_by_changed_ladder(planned, places, stored)
        for process, process_moved in moved.grouped("process_id").items():
            desk = process.with_context(lang=process.company_id._get_collection_lang())
            desk.message_post(
                body=desk.env._(
                    "Stages changed: %(count)s running collection(s) planned again by the new ladder.",
                    count=len(process_moved),
                ),
                subtype_xmlid="mail.mt_note",
            )
