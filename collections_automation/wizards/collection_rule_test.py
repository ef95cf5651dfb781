from odoo import api, fields, models


class CollectionRuleTest(models.TransientModel):
    """Shows which process an invoice would get from the segment rules, and why."""

    _name = "collection.rule.test"
    _description = "Test Collection Segment Rules"

    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted')]",
    )
    rule_id = fields.Many2one("collection.segment.rule", string="Rule tested")
    process_id = fields.Many2one("collection.process", compute="_compute_result", string="Process chosen")
    matched_rule_id = fields.Many2one(
        "collection.segment.rule", compute="_compute_result", string="Rule that fits"
    )
    explanation = fields.Html(compute="_compute_result", sanitize=False)

    @api.model
    def action_open(self, move=None, rule=None):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_rule_test_action"
        )
        action["context"] = {
            "default_move_id": move.id if move else False,
            "default_rule_id": rule.id if rule else False,
        }
        return action

    @api.depends("move_id", "rule_id")
    def _compute_result(self):
        Rule = self.env["collection.segment.rule"]
        for wizard in self:
            invoice = wizard.move_id
            if not invoice:
                wizard.process_id = wizard.matched_rule_id = False
                wizard.explanation = False
                continue
            process, rule = Rule._find_process_for_invoices(invoice)[invoice]
            wizard.process_id, wizard.matched_rule_id = process, rule
            wizard.explanation = wizard._explain_rules(invoice, rule)

    def _explain_rules(self, invoice, matched_rule):
        rules = self.rule_id or self.env["collection.segment.rule"].search(
            [("company_id", "=", invoice.company_id.id), ("process_id.active", "=", True)]
        )
        explained = []
        for rule in rules:
            fits, checks = rule._explain(invoice)
            verdict = self.env._("fits") if fits else self.env._("does not fit")
            if rule == matched_rule:
                verdict = self.env._("fits, and wins (first by priority)")
            elif fits and matched_rule:
                verdict = self.env._("fits, but a rule of higher priority wins")
            explained.append(
                {"name": rule.name, "process": rule.process_id.name, "verdict": verdict, "checks": checks}
            )
        return self.env["ir.qweb"]._render(
            "collections_automation.collection_rule_test_explanation",
            {"rules": explained, "fallback": self._get_fallback_explanation(invoice, matched_rule)},
        )

    def _get_fallback_explanation(self, invoice, matched_rule):
        """What applies when no rule fits, or False."""
        if matched_rule:
            return False
        default = invoice.company_id.collection_default_process_id
        if default:
            return self.env._(
                "No rule fits: the company's default process, %(process)s.", process=default.name
            )
        return self.env._("No rule fits and the company has no default process.")
