from odoo import api, models


class CollectionStageAction(models.AbstractModel):
    """What one kind of stage action does, for every (stage, enrollments)
    group of a batch that asks for it.

    Each handler has the same interface, ``run(groups)``; its once-only key
    is taken here, in ``_claim``, in the transaction of its effect: a second
    attempt fails on the unique key and rolls its effect back with it. A new
    kind of action is one new handler (``collection.stage.action.<name>``,
    listed in ``collection.engine._get_stage_action_names``)."""

    _name = "collection.stage.action"
    _description = "Collection Stage Action"
    # The event action and the last part of the once-only key.
    _action = None

    @api.model
    def _applies(self, stage):
        """Whether ``stage`` asks for this action."""
        raise NotImplementedError

    @api.private
    @api.model
    def run(self, groups):
        """Run the action for the [(stage, enrollments)] that ask for it."""
        groups = [(stage, group) for stage, group in groups if self._applies(stage)]
        if groups:
            self._run(groups)

    @api.model
    def _run(self, groups):
        """The effect and its keys, group by group; handlers that can work
        on all the groups at once override this."""
        for stage, group in groups:
            events = self._claim([(stage, group)])
            values = self._run_group(stage, group)
            if values:
                events.write(values)

    @api.model
    def _run_group(self, stage, group):
        """The effect for one group; returns values for its events."""
        raise NotImplementedError

    @api.model
    def _get_key(self, enrollment, stage):
        return enrollment._action_key(stage, self._action)

    @api.model
    def _claim(self, groups, values_list=None):
        """Write the once-only events of the action for each group, with
        ``values_list``'s values (one dict per group) on them."""
        values_list = values_list or [{}] * len(groups)
        events = (
            self.env["collection.event"]
            .sudo()
            .create(
                [
                    {
                        **enrollment._prepare_event_values(
                            self._action, stage=stage, key=self._get_key(enrollment, stage)
                        ),
                        **values,
                    }
                    for (stage, group), values in zip(groups, values_list, strict=True)
                    for enrollment in group
                ]
            )
        )
        events.flush_recordset()
        return events
