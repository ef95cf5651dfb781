from odoo import api, models


class CollectionStageActionLateCharge(models.AbstractModel):
    """The stage's late charges: for each late invoice, one charge invoice
    with the interest accrued since its last charge, the compensation and
    the fee of the collection's rule; posted at once, or left in draft for
    an accountant to approve. Runs before the stage's messages, which show
    the charges."""

    _name = "collection.stage.action.late_charge"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Late Charges"
    _action = "late_charge"

    @api.model
    def _applies(self, stage):
        return stage.charge_late_fees

    @api.model
    def _run(self, groups):
        pairs = [(stage, enrollment) for stage, group in groups for enrollment in group]
        invoices = self.env["account.move"].union(*(enrollment.move_id for _stage, enrollment in pairs))
        charged = self.env["collection.late.charge.rule"]._get_charged_amounts(invoices)
        move_values, charging, outcomes = [], [], []
        for _stage, enrollment in pairs:
            rule, charges, reason = self._get_charges(enrollment, charged)
            if charges:
                day = enrollment._company_today()
                move_values.append(rule._prepare_charge_invoice_values(enrollment.move_id, day, charges))
                charging.append((enrollment, rule))
            outcomes.append(reason)
        moves = iter(self.env["account.move"].create(move_values))
        charge_of = {enrollment.id: (next(moves), rule) for enrollment, rule in charging}
        values_list = []
        for (_stage, enrollment), reason in zip(pairs, outcomes, strict=True):
            if enrollment.id in charge_of:
                move, _rule = charge_of[enrollment.id]
                values_list.append(self._prepare_charged_event_values(move))
            else:
                values_list.append({"outcome": "skipped", "message": reason})
        self._claim(pairs, values_list)
        to_post = self.env["account.move"].union(
            *(move for move, rule in charge_of.values() if rule.auto_post)
        )
        to_post.action_post()

    @api.model
    def _get_charges(self, enrollment, charged):
        """(rule, charges, why nothing is charged) for ``enrollment``."""
        rule = enrollment._get_late_charge_rule()
        invoice = enrollment.move_id
        if not invoice:
            return rule, [], self.env._("A payment request without an invoice: no late charges.")
        if not rule:
            return rule, [], self.env._("No late charge rule on the process or the segment rule.")
        if not rule._applies_to(invoice):
            return (
                rule,
                [],
                self.env._(
                    "Late charges do not apply: waived, a customer the rule does not apply to, "
                    "or under the minimum."
                ),
            )
        charges = rule._prepare_charges(invoice, enrollment._company_today(), charged)
        return rule, charges, "" if charges else self.env._("Nothing more to charge.")

    @api.model
    def _prepare_charged_event_values(self, move):
        return {
            "charge_move_id": move.id,
            "amount": move.amount_total,
            "message": self.env._(
                "Late charges of %(amount)s invoiced (%(lines)s).",
                amount=move.currency_id.format(move.amount_total),
                lines=", ".join(move.invoice_line_ids.mapped(lambda line: line.name.splitlines()[0])),
            ),
        }
