"""The one door to the Odoo sequence internals that the engine needs to
number thousands of new collections in one run.

Odoo's public path, ``ir.sequence.next_by_id``, draws one number a call:
one statement and one interpolation of the prefix and suffix each
(measured: half a second of the ten seconds the engine takes to enroll
10,000 invoices). ``_next_numbers`` draws a batch's
numbers in one statement and interpolates once, which means knowing how a
sequence keeps its counter and formats a number.
``tests/test_sequence_batch.py`` compares it with ``next_by_id``, so that
an Odoo update that changes either fails a test instead of numbering
collections twice; ``make lint`` refuses ``_get_prefix_suffix`` in every
other file of the add-on.
"""

from odoo import api, models
from odoo.tools import SQL


class CollectionSequenceBatch(models.AbstractModel):
    """Odoo's sequences, for a batch of records at once."""

    _name = "collection.sequence.batch"
    _description = "Collections: Odoo's sequences in batches"

    @api.model
    def _next_numbers(self, sequence, count):
        """``count`` numbers of ``sequence``, those ``next_by_id`` would give
        called ``count`` times in a row. A sequence numbered by date ranges
        goes through ``next_by_id`` (its ranges are created on demand). The
        prefix and suffix are interpolated once for the batch: a
        ``%(sec)s`` in them is the same second for all."""
        if count < 2 or sequence.use_date_range:
            return [sequence.next_by_id() for _number in range(count)]
        sequence.browse().check_access("read")
        if sequence.implementation == "standard":
            counters = self._draw_standard(sequence, count)
        else:
            counters = self._draw_no_gap(sequence, count)
        prefix, suffix = sequence._get_prefix_suffix()
        # Odoo's own formatting (get_next_char), negative padding included.
        return [prefix + "%%0%sd" % sequence.padding % counter + suffix for counter in counters]  # noqa: UP031

    @api.model
    def _draw_standard(self, sequence, count):
        """The next ``count`` values of the PostgreSQL sequence behind
        ``sequence`` (it steps by the sequence's increment), in the order
        drawn: PostgreSQL calls nextval after sorting by the series."""
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s) AS draw ORDER BY draw",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        return [value for (value,) in rows]

    @api.model
    def _draw_no_gap(self, sequence, count):
        """The next ``count`` counters of a gapless sequence, taken under
        the row lock its own draws take."""
        sequence.flush_recordset(["number_next"])
        (first,) = self.env.execute_query(
            SQL("SELECT number_next FROM ir_sequence WHERE id = %s FOR UPDATE NOWAIT", sequence.id)
        )[0]
        step = sequence.number_increment
        self.env.execute_query(
            SQL(
                "UPDATE ir_sequence SET number_next = number_next + %s WHERE id = %s",
                step * count,
                sequence.id,
            )
        )
        sequence.invalidate_recordset(["number_next"])
        return [first + step * offset for offset in range(count)]
