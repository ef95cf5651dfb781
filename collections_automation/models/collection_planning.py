from datetime import timedelta

from odoo import models


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
