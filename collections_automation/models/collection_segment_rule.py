import ast

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

TRUST_LEVELS = [("good", "Good Debtor"), ("normal", "Normal Debtor"), ("bad", "Bad Debtor")]


class CollectionSegmentRule(models.Model):
    """Chooses the collection process of an invoice: rules are tried by
    priority and the first whose every condition holds wins; empty
    conditions always hold."""

    _name = "collection.segment.rule"
    _description = "Collection Segment Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(string="Priority", default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    process_id = fields.Many2one("collection.process", required=True, check_company=True, ondelete="cascade")
    partner_category_ids = fields.Many2many("res.partner.category", string="Customer tags")
    country_ids = fields.Many2many("res.country", string="Countries")
    payment_term_ids = fields.Many2many("account.payment.term", string="Payment terms")
    partner_trust = fields.Selection(TRUST_LEVELS, string="Customer trust")
    currency_id = fields.Many2one("res.currency")
    amount_min = fields.Float(string="Amount from", help="Amount left to pay, in the invoice's currency.")
    amount_max = fields.Float(string="Amount up to", help="0 means no upper limit.")
    invoice_domain = fields.Char(string="Invoice filter", default="[]")
    late_charge_rule_id = fields.Many2one(
        "collection.late.charge.rule",
        string="Late charge rule",
        check_company=True,
        help="For the invoices of this segment, instead of the process's rule (e.g. the law of the "
        "customers' country).",
    )

    @api.constrains("invoice_domain")
    def _check_invoice_domain(self):
        for rule in self:
            try:
                domain = Domain(ast.literal_eval(rule.invoice_domain or "[]"))
                self.env["account.move"].search(domain, limit=1)
            except (ValueError, SyntaxError, KeyError, TypeError) as error:
                raise ValidationError(
                    self.env._(
                        "The invoice filter of rule “%(rule)s” is not valid: %(error)s",
                        rule=rule.name,
                        error=error,
                    )
                ) from error

    @api.constrains("amount_min", "amount_max")
    def _check_amounts(self):
        for rule in self:
            if rule.amount_min < 0 or rule.amount_max < 0:
                raise ValidationError(self.env._("Amounts of a segment rule cannot be negative."))
            if rule.amount_max and rule.amount_max < rule.amount_min:
                raise ValidationError(
                    self.env._("In rule “%(rule)s”, the upper amount is below the lower one.", rule=rule.name)
                )

    def _get_invoice_domain(self):
        self.ensure_one()
        return Domain(safe_eval(self.invoice_domain or "[]", {"uid": self.env.uid}))

    def _get_conditions(self):
        """The rule's conditions other than the invoice filter, as
        (predicate on an invoice, label) pairs; empty conditions are left out."""
        self.ensure_one()
        conditions = []
        if self.partner_category_ids:
            conditions.append(
                (
                    lambda inv: bool(self.partner_category_ids & inv.commercial_partner_id.category_id),
                    self.env._(
                        "customer tags %(tags)s", tags=", ".join(self.partner_category_ids.mapped("name"))
                    ),
                )
            )
        if self.country_ids:
            conditions.append(
                (
                    lambda inv: inv.commercial_partner_id.country_id in self.country_ids,
                    self.env._(
                        "country in %(countries)s", countries=", ".join(self.country_ids.mapped("name"))
                    ),
                )
            )
        if self.payment_term_ids:
            conditions.append(
                (
                    lambda inv: inv.invoice_payment_term_id in self.payment_term_ids,
                    self.env._(
                        "payment terms %(terms)s", terms=", ".join(self.payment_term_ids.mapped("name"))
                    ),
                )
            )
        if self.partner_trust:
            conditions.append(
                (
                    lambda inv: (inv.commercial_partner_id.with_company(inv.company_id).trust or "normal")
                    == self.partner_trust,
                    self.env._("customer trust %(trust)s", trust=dict(TRUST_LEVELS)[self.partner_trust]),
                )
            )
        if self.currency_id:
            conditions.append(
                (
                    lambda inv: inv.currency_id == self.currency_id,
                    self.env._("currency %(currency)s", currency=self.currency_id.name),
                )
            )
        if self.amount_min or self.amount_max:
            conditions.append(
                (
                    lambda inv: inv.amount_residual >= self.amount_min
                    and (not self.amount_max or inv.amount_residual <= self.amount_max),
                    self.env._(
                        "amount due from %(low)s to %(high)s",
                        low=self.amount_min,
                        high=self.amount_max or "∞",
                    ),
                )
            )
        return conditions

    def _get_routing_domain(self):
        """A filter in SQL that every invoice this rule fits passes: the
        engine's triggers search with it, so that the invoices that no rule
        of a process could give it are not read at every run. It may let
        more through (the customer's trust, an add-on's conditions):
        ``_get_conditions`` decides."""
        self.ensure_one()
        domain = self._get_invoice_domain()
        if self.partner_category_ids:
            domain &= Domain("commercial_partner_id.category_id", "in", self.partner_category_ids.ids)
        if self.country_ids:
            domain &= Domain("commercial_partner_id.country_id", "in", self.country_ids.ids)
        if self.payment_term_ids:
            domain &= Domain("invoice_payment_term_id", "in", self.payment_term_ids.ids)
        if self.currency_id:
            domain &= Domain("currency_id", "=", self.currency_id.id)
        if self.amount_min:
            domain &= Domain("amount_residual", ">=", self.amount_min)
        if self.amount_max:
            domain &= Domain("amount_residual", "<=", self.amount_max)
        return domain

    def _explain(self, invoice):
        """Why this rule does or does not fit ``invoice``: (fits, [(holds, label)])."""
        self.ensure_one()
        checks = [(predicate(invoice), label) for predicate, label in self._get_conditions()]
        domain = self._get_invoice_domain()
        if not domain.is_true():
            holds = bool(
                self.env["account.move"].search_count(domain & Domain("id", "=", invoice.id), limit=1)
            )
            checks.append((holds, self.env._("invoice filter %(domain)s", domain=self.invoice_domain)))
        return all(holds for holds, _label in checks), checks

    @api.model
    def _find_process_for_invoices(self, invoices, as_if_active=None):
        """Return {invoice: (process, rule)} for the invoices: the first rule
        that fits, else the company's default process (rule empty), else
        nothing (process empty). Archived processes, their rules and an
        archived default process count only for the processes
        ``as_if_active`` (what activating them would do)."""
        result = {}
        rules_by_company = {}
        defaults = {}
        usable = self.env["collection.process"].browse(as_if_active.ids if as_if_active else [])
        process_domain = Domain("process_id.active", "=", True)
        if as_if_active:
            process_domain |= Domain("process_id", "in", as_if_active.ids)
        for company in invoices.company_id:
            rules_by_company[company] = self.search(Domain("company_id", "=", company.id) & process_domain)
            default = company.collection_default_process_id
            defaults[company] = default if default.active or default in usable else default.browse()
        domain_matches = {}
        for rules in rules_by_company.values():
            for rule in rules:
                domain = rule._get_invoice_domain()
                if not domain.is_true():
                    # One search per rule with a filter, not per invoice.
                    matching = self.env["account.move"].search(domain & Domain("id", "in", invoices.ids))
                    domain_matches[rule] = set(matching.ids)
        conditions = {rule: rule._get_conditions() for rules in rules_by_company.values() for rule in rules}
        for invoice in invoices:
            chosen = (defaults[invoice.company_id], self.browse())
            for rule in rules_by_company[invoice.company_id]:
                if rule in domain_matches and invoice.id not in domain_matches[rule]:
                    continue
                if all(predicate(invoice) for predicate, _label in conditions[rule]):
                    chosen = (rule.process_id, rule)
                    break
            result[invoice] = chosen
        return result

    def action_test_rules(self):
        return self.env["collection.rule.test"].action_open(rule=self)
