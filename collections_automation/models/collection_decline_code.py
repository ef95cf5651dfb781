from odoo import api, fields, models

DECLINE_CLASSES = [
    ("soft", "Retry later"),
    ("customer", "Needs the customer"),
    ("hard", "Never retry"),
]


class CollectionDeclineCode(models.Model):
    """How the engine answers a declined payment retry, per decline or
    advice code of the payment provider. Shipped as data for Stripe's codes;
    an administrator adjusts the class of any code."""

    _name = "collection.decline.code"
    _description = "Payment Decline Code"
    _order = "kind, code"

    code = fields.Char(required=True, help="The code as the provider reports it, e.g. insufficient_funds.")
    name = fields.Char(string="Meaning", required=True, translate=True)
    kind = fields.Selection(
        [("decline", "Decline code"), ("advice", "Advice code")],
        required=True,
        default="decline",
        help="Stripe's advice code, when present, takes precedence over its decline code.",
    )
    decline_class = fields.Selection(
        DECLINE_CLASSES,
        string="Class",
        required=True,
        default="soft",
        help="Retry later: the next retry of the process tries again. Needs the customer: retries "
        "stop until the customer saves a new payment method, who is asked to by email. Never "
        "retry: no automatic retry any more for this collection.",
    )
    active = fields.Boolean(default=True)

    _code_unique = models.Constraint("UNIQUE (kind, code)", "Each code is classified once.")

    @api.model
    def _classify(self, decline_code, advice_code=None):
        """The class of a decline: the advice code's when known, else the
        decline code's, else 'soft' (a generic decline may pass later)."""
        codes = {
            (record.kind, record.code): record.decline_class
            for record in self.search([("code", "in", [c for c in (decline_code, advice_code) if c])])
        }
        return codes.get(("advice", advice_code)) or codes.get(("decline", decline_code)) or "soft"
