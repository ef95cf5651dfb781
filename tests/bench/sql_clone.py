"""Benchmark data at scale: SQL copies of invoices the ORM made.

Posting an invoice and reconciling its payment through the ORM costs about
a tenth of a second here; the 200,000 invoices of the payment score's
benchmark would take half a day. The benchmarks make a few invoices of each
kind through the ORM (templates) and copy each, with everything that hangs
from it, for every other planned invoice: its journal items, its
collection and the collection's first event, and for a paid invoice the
payment, its journal entry and items and their reconciliation. A copy
belongs to its own customer, has its own dates, amounts, names and ids, and
keeps every other value of its template, the ORM's (stored computed fields
included). Benchmark data only: nothing in the add-ons copies records this
way.
"""

import sys
from dataclasses import dataclass
from datetime import date

from odoo.tools import SQL

# The records a template invoice brings along, in the order of their
# insertion, with the side of the ledger whose day they follow.
CLONED_TABLES = (
    "account_full_reconcile",
    "account_move",
    "account_move_line",
    "account_payment",
    "account_partial_reconcile",
    "collection_enrollment",
    "collection_event",
)
# Copies inserted per transaction.
CLONE_CHUNK = 10_000
TABLE_MODELS = {table: table.replace("_", ".") for table in CLONED_TABLES}
# A collection is enrolled on the day the dataset is built, whatever its
# invoice's date: only its due date follows the invoice.
SHIFTED_DATES = {"collection_enrollment": {"due_date"}, "collection_event": set()}
# Values that must differ between records: a copy draws its own.
UNIQUE_TEXT = {
    ("account_move", "access_token"),
    ("collection_enrollment", "access_token"),
    ("collection_event", "key"),
}


@dataclass
class Copy:
    """One planned invoice to make by copying ``template`` (an invoice's id)."""

    template: int
    partner: int
    issued: date
    amount: float
    paid: date | None = None


class InvoiceCloner:
    """Copies of template invoices and what hangs from them, inserted by
    SQL in one statement a table for a whole batch."""

    def __init__(self, env, whole_history=False):
        """With ``whole_history``, a copy's whole story moves with its
        invoice: every date and time of every row (its payments' too)."""
        self.env = env
        self.whole_history = whole_history
        self.cr = env.cr
        self.columns = {table: self._columns(table) for table in CLONED_TABLES}
        self.references = self._references()
        self.monetary = self._monetary_columns()
        self.templates = {}

    def _columns(self, table):
        self.cr.execute(
            SQL(
                """SELECT column_name, data_type FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position""",
                table,
            )
        )
        return dict(self.cr.fetchall())

    def _references(self):
        """{(table, column): referenced table} for the foreign keys of the
        copied tables, from PostgreSQL's catalogue."""
        self.cr.execute(
            SQL(
                """SELECT fk.conrelid::regclass::text, attribute.attname,
                          fk.confrelid::regclass::text
                     FROM pg_constraint fk
                     JOIN pg_attribute attribute ON attribute.attrelid = fk.conrelid
                                                AND attribute.attnum = fk.conkey[1]
                    WHERE fk.contype = 'f' AND fk.conrelid::regclass::text = ANY(%s)""",
                list(CLONED_TABLES),
            )
        )
        return {(table, column): target for table, column, target in self.cr.fetchall()}

    def _monetary_columns(self):
        monetary = {table: set() for table in CLONED_TABLES}
        fields = self.env["ir.model.fields"].search_read(
            [("model", "in", list(TABLE_MODELS.values())), ("ttype", "=", "monetary"), ("store", "=", True)],
            ["model", "name"],
        )
        tables = {model: table for table, model in TABLE_MODELS.items()}
        for field in fields:
            monetary[tables[field["model"]]].add(field["name"])
        # A line's unit price is a float field, but it is an amount too.
        monetary["account_move_line"].add("price_unit")
        return monetary

    def _template_rows(self, template):
        """{table: {id: side}} of the records ``template`` brings along,
        ``side`` 'invoice' or 'payment'."""
        if template in self.templates:
            return self.templates[template]
        cr = self.cr

        def ids(query):
            cr.execute(query)
            return [row[0] for row in cr.fetchall()]

        invoice_lines = ids(SQL("SELECT id FROM account_move_line WHERE move_id = %s", template))
        partials = ids(
            SQL("SELECT id FROM account_partial_reconcile WHERE debit_move_id = ANY(%s)", invoice_lines)
        )
        payment_moves = ids(
            SQL(
                """SELECT DISTINCT line.move_id FROM account_partial_reconcile partial
                     JOIN account_move_line line ON line.id = partial.credit_move_id
                    WHERE partial.id = ANY(%s)""",
                partials,
            )
        )
        enrollments = ids(SQL("SELECT id FROM collection_enrollment WHERE move_id = %s", template))
        rows = {
            "account_full_reconcile": ids(
                SQL(
                    "SELECT DISTINCT full_reconcile_id FROM account_partial_reconcile WHERE id = ANY(%s) "
                    "AND full_reconcile_id IS NOT NULL",
                    partials,
                )
            ),
            "account_move": [template, *payment_moves],
            "account_move_line": invoice_lines
            + ids(SQL("SELECT id FROM account_move_line WHERE move_id = ANY(%s)", payment_moves)),
            "account_payment": ids(
                SQL("SELECT id FROM account_payment WHERE move_id = ANY(%s)", payment_moves)
            ),
            "account_partial_reconcile": partials,
            "collection_enrollment": enrollments,
            "collection_event": ids(
                SQL("SELECT id FROM collection_event WHERE enrollment_id = ANY(%s)", enrollments)
            ),
        }
        invoice_side = {"account_move": {template}, "account_move_line": set(invoice_lines)}
        invoice_side["collection_enrollment"] = set(rows["collection_enrollment"])
        invoice_side["collection_event"] = set(rows["collection_event"])
        self.templates[template] = {
            table: {
                row: "invoice" if row in invoice_side.get(table, ()) else "payment" for row in rows[table]
            }
            for table in CLONED_TABLES
        }
        return self.templates[template]

    def clone_all(self, planned, make_copy, start=0):
        """Copy ``planned[start:]`` (``make_copy(item)``: the item's Copy), a
        transaction each CLONE_CHUNK, the copied tables' statistics fresh
        after each (the next chunk's lookups plan on them), the whole
        database's at the end."""
        cr = self.cr
        for first in range(start, len(planned), CLONE_CHUNK):
            chunk = planned[first : first + CLONE_CHUNK]
            self.clone([make_copy(item) for item in chunk])
            cr.execute(SQL("ANALYZE %s", SQL(", ").join(map(SQL.identifier, CLONED_TABLES))))
            cr.commit()
            print(f"[bench] {first + len(chunk)} of {len(planned)} invoices", file=sys.stderr, flush=True)
        cr.execute("ANALYZE")
        cr.commit()

    def clone(self, copies):
        """Insert ``copies`` (a list of Copy); their invoices' ids, in order."""
        if not copies:
            return []
        cr = self.cr
        cr.execute(
            SQL(
                """CREATE TEMP TABLE IF NOT EXISTS clone_plan (
                       copy integer PRIMARY KEY, template integer, template_partner integer,
                       template_name varchar, template_partner_name varchar,
                       partner integer, partner_name varchar,
                       invoice_shift integer, payment_shift integer, factor numeric);
                   CREATE TEMP TABLE IF NOT EXISTS clone_rows (
                       tbl varchar, template integer, old integer, side varchar);
                   CREATE TEMP TABLE IF NOT EXISTS clone_ids (
                       tbl varchar, copy integer, old integer, new integer,
                       PRIMARY KEY (tbl, copy, old));
                   TRUNCATE clone_plan, clone_rows, clone_ids"""
            )
        )
        templates = {copy.template for copy in copies}
        for template in templates:
            for table, rows in self._template_rows(template).items():
                for row, side in rows.items():
                    cr.execute(
                        SQL("INSERT INTO clone_rows VALUES (%s, %s, %s, %s)", table, template, row, side)
                    )
        cr.execute(
            SQL(
                """SELECT move.id, move.partner_id, move.name, partner.name, move.invoice_date,
                          move.amount_total,
                          (SELECT max(pay.date) FROM account_payment pay
                             JOIN clone_rows row ON row.tbl = 'account_payment' AND row.old = pay.id
                            WHERE row.template = move.id)
                     FROM account_move move JOIN res_partner partner ON partner.id = move.partner_id
                    WHERE move.id = ANY(%s)""",
                list(templates),
            )
        )
        template_facts = {row[0]: row[1:] for row in cr.fetchall()}
        partners = dict(
            self.env["res.partner"].browse({copy.partner for copy in copies}).mapped(lambda p: (p.id, p.name))
        )
        values = []
        for number, copy in enumerate(copies):
            partner, name, partner_name, issued, amount, paid = template_facts[copy.template]
            invoice_shift = (copy.issued - issued).days
            if self.whole_history:
                payment_shift = invoice_shift
            else:
                payment_shift = (copy.paid - paid).days if copy.paid and paid else 0
            values.append(
                SQL(
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    number,
                    copy.template,
                    partner,
                    name,
                    partner_name,
                    copy.partner,
                    partners[copy.partner],
                    invoice_shift,
                    payment_shift,
                    round(copy.amount, 2) / float(amount),
                )
            )
        cr.execute(SQL("INSERT INTO clone_plan VALUES %s", SQL(", ").join(values)))
        for table in CLONED_TABLES:
            cr.execute(
                SQL(
                    """INSERT INTO clone_ids
                       SELECT row.tbl, plan.copy, row.old, nextval(%s)
                         FROM clone_plan plan JOIN clone_rows row ON row.template = plan.template
                        WHERE row.tbl = %s""",
                    f"{table}_id_seq",
                    table,
                )
            )
        cr.execute("ANALYZE clone_plan; ANALYZE clone_ids; ANALYZE clone_rows")
        deferred = []
        for position, table in enumerate(CLONED_TABLES):
            deferred += self._insert(table, later=set(CLONED_TABLES[position + 1 :]))
        for table, column, target in deferred:
            cr.execute(
                SQL(
                    """UPDATE %(table)s copy SET %(column)s = target.new
                         FROM clone_ids own, clone_ids target, %(table)s template
                        WHERE own.tbl = %(name)s AND copy.id = own.new AND template.id = own.old
                          AND target.tbl = %(target)s AND target.copy = own.copy
                          AND target.old = template.%(column)s""",
                    table=SQL.identifier(table),
                    column=SQL.identifier(column),
                    name=table,
                    target=target,
                )
            )
        self._fix_up()
        cr.execute(
            SQL(
                """SELECT ids.new FROM clone_ids ids JOIN clone_rows row
                       ON row.tbl = ids.tbl AND row.old = ids.old AND row.template = ids.old
                    WHERE ids.tbl = 'account_move' ORDER BY ids.copy"""
            )
        )
        return [row[0] for row in cr.fetchall()]

    def _insert(self, table, later):
        """Insert the copies of ``table``; the foreign keys to tables
        inserted ``later``, left empty, as (table, column, target)."""
        deferred = []
        names, expressions = [SQL.identifier("id")], [SQL("ids.new")]
        for column, data_type in self.columns[table].items():
            if column == "id":
                continue
            names.append(SQL.identifier(column))
            expression, target = self._expression(table, column, data_type)
            if target in later:
                deferred.append((table, column, target))
                expression = SQL("NULL")
            expressions.append(expression)
        self.cr.execute(
            SQL(
                """INSERT INTO %(table)s (%(names)s)
                   SELECT %(expressions)s
                     FROM clone_ids ids
                     JOIN clone_plan plan ON plan.copy = ids.copy
                     JOIN clone_rows row
                       ON row.tbl = ids.tbl AND row.old = ids.old AND row.template = plan.template
                     JOIN %(table)s template ON template.id = ids.old
                    WHERE ids.tbl = %(name)s""",
                table=SQL.identifier(table),
                names=SQL(", ").join(names),
                expressions=SQL(", ").join(expressions),
                name=table,
            )
        )
        return deferred

    def _expression(self, table, column, data_type):
        """The copy's value of ``column`` in SQL, and the copied table its
        value refers to (None if none)."""
        value = SQL.identifier("template", column)
        target = self.references.get((table, column))
        if target in CLONED_TABLES:
            mapped = SQL(
                "(SELECT target.new FROM clone_ids target WHERE target.tbl = %s AND target.copy = ids.copy "
                "AND target.old = %s)",
                target,
                value,
            )
            return SQL("COALESCE(%s, %s)", mapped, value), target
        if target == "res_partner":
            return SQL(
                "CASE WHEN %s = plan.template_partner THEN plan.partner ELSE %s END", value, value
            ), None
        if column in self.monetary[table]:
            return SQL("round((%s * plan.factor)::numeric, 2)", value), None
        shift = SQL("CASE row.side WHEN 'invoice' THEN plan.invoice_shift ELSE plan.payment_shift END")
        if data_type == "date" and (self.whole_history or column in SHIFTED_DATES.get(table, {column})):
            return SQL("%s + %s", value, shift), None
        if self.whole_history and data_type.startswith("timestamp"):
            return SQL("%s + make_interval(days => %s)", value, shift), None
        if table == "account_move" and column in ("sequence_prefix", "sequence_number", "name"):
            prefix = SQL(
                "regexp_replace(template.sequence_prefix, '\\d{4}', to_char(template.date + %s, 'YYYY'))",
                shift,
            )
            # An entry copied is numbered by its own id: above every number
            # so far (none exceeds the entries' count), and unique in its
            # journal, where a copy may hold several entries (its payments).
            number = SQL("ids.new")
            return {
                "sequence_prefix": prefix,
                "sequence_number": number,
                "name": SQL(
                    "%s || lpad((%s)::text, greatest(5, length((%s)::text)), '0')", prefix, number, number
                ),
            }[column], None
        if (table, column) in UNIQUE_TEXT:
            return SQL("CASE WHEN %s IS NULL THEN NULL ELSE md5(random()::text || ids.new) END", value), None
        if data_type in ("character varying", "text"):
            # The invoice's name and its customer's, where the template
            # repeats them (its reference, its items' labels).
            return SQL(
                "CASE %s WHEN plan.template_name THEN NULL "
                "WHEN plan.template_partner_name THEN plan.partner_name ELSE %s END",
                value,
                value,
            ), None
        return value, None

    def _fix_up(self):
        """What a copy cannot take from its template: its invoice's name
        where it is repeated, its payment's name, its matching numbers."""
        cr = self.cr
        cr.execute(
            """UPDATE account_move move
                  SET payment_reference = CASE WHEN move.payment_reference IS NULL
                                               AND template.payment_reference IS NOT NULL
                                               THEN move.name ELSE move.payment_reference END
                 FROM clone_ids ids
                 JOIN account_move template ON template.id = ids.old
                WHERE ids.tbl = 'account_move' AND move.id = ids.new;
               UPDATE account_move_line line
                  SET move_name = move.name,
                      name = CASE WHEN line.name IS NULL AND template.name IS NOT NULL THEN move.name
                                  ELSE line.name END,
                      matching_number = CASE WHEN line.full_reconcile_id IS NOT NULL
                                             THEN line.full_reconcile_id::text ELSE NULL END
                 FROM clone_ids ids
                 JOIN account_move_line template ON template.id = ids.old,
                      account_move move
                WHERE ids.tbl = 'account_move_line' AND line.id = ids.new AND move.id = line.move_id;
               UPDATE account_payment payment
                  SET name = move.name
                 FROM clone_ids ids, account_move move
                WHERE ids.tbl = 'account_payment' AND payment.id = ids.new AND move.id = payment.move_id;
               UPDATE collection_enrollment enrollment
                  SET name = 'COL/' || to_char(enrollment.enrolled_on, 'YYYY') || '/C' || enrollment.id,
                      reference = move.name
                 FROM clone_ids ids, account_move move
                WHERE ids.tbl = 'collection_enrollment' AND enrollment.id = ids.new
                  AND move.id = enrollment.move_id"""
        )
