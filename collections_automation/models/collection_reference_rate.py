import bisect

from odoo import api, fields, models
from odoo.exceptions import UserError

REFERENCE_SOURCES = [
    ("ecb", "ECB main refinancing operations rate"),
    ("boe", "Bank of England Bank Rate"),
    ("de_base", "Deutsche Bundesbank base rate (§ 247 BGB)"),
    ("at_base", "Oesterreichische Nationalbank base rate (Basiszinssatz)"),
    ("be_legal", "Belgium, legal interest rate (Law of 5 May 1865)"),
    ("es_legal", "Spain, interés legal del dinero"),
    ("fr_legal", "France, taux de l'intérêt légal, creditor acting for business"),
    ("it_legal", "Italy, saggio degli interessi legali (art. 1284 c.c.)"),
    ("nl_legal", "Netherlands, statutory interest (art. 6:119 BW)"),
]


class CollectionReferenceRate(models.Model):
    """A reference rate from a day on, a central bank's or a legal rate
    that a state publishes: statutory late interest is that rate plus the
    margin the law sets. Shipped as data for
    the rates the presets use, with each figure's source; the administrator
    adds each new rate as it is published."""

    _name = "collection.reference.rate"
    _description = "Collection Reference Rate"
    _order = "source, date_from desc, id"

    source = fields.Selection(REFERENCE_SOURCES, string="Reference rate", required=True, index=True)
    date_from = fields.Date(string="Valid from", required=True, index=True)
    rate = fields.Float(
        string="Rate (%)",
        digits=(5, 3),
        required=True,
        help="Yearly rate in percent, as published (it may be negative).",
    )
    note = fields.Char(string="Source", help="Where the figure comes from: the publication and its date.")

    _source_date_unique = models.Constraint(
        "UNIQUE(source, date_from)",
        "A reference rate has one figure per day it changes.",
    )

    @api.depends("source", "date_from", "rate")
    def _compute_display_name(self):
        labels = dict(REFERENCE_SOURCES)
        for rate in self:
            rate.display_name = f"{labels.get(rate.source, '')} {rate.date_from}: {rate.rate:g}%"

    @api.model
    def _get_rate_table(self, source):
        """Every (valid from, rate) of ``source``, oldest first: a lookup
        per day without a query per day."""
        rates = self.search_fetch([("source", "=", source)], ["date_from", "rate"], order="date_from, id")
        return RateTable(self.env, source, [(rate.date_from, rate.rate) for rate in rates])


class RateTable:
    """The rates of one source in force on any day."""

    def __init__(self, env, source, rows):
        self.env = env
        self.source = source
        self.days = [day for day, _rate in rows]
        self.rates = [rate for _day, rate in rows]

    def rate_on(self, day):
        index = bisect.bisect_right(self.days, day) - 1
        if index < 0:
            raise UserError(
                self.env._(
                    "No %(rate)s is known in force on %(day)s: add it in Invoicing > Configuration > "
                    "Collections > Reference Rates.",
                    rate=dict(
                        self.env["collection.reference.rate"]
                        ._fields["source"]
                        ._description_selection(self.env)
                    )[self.source],
                    day=day,
                )
            )
        return self.rates[index]
