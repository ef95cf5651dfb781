"""Benchmark of the collections engine (``make bench``).

``setup --invoices N --customers M`` grows the benchmark database to N open
invoices of M customers, all enrolled in one process whose email stage is
due today. ``run`` times one engine run in this fresh process and prints its
figures as JSON: actions per second, SQL queries per action, peak memory.

Run through ``tools/devenv.py bench``, which calls both at one tenth of the
size and at the full size, so that the figures show how cost grows.
"""

import argparse
import json
import resource
import sys
import time
from contextlib import contextmanager
from unittest.mock import patch

import odoo
from odoo import SUPERUSER_ID, api
from odoo.fields import Command
from odoo.modules.registry import Registry

ADDON = "collections_automation"
PROCESS_NAME = "Benchmark process"
CHUNK = 500
ANALYZE_EVERY = 5_000


def open_env(config, database):
    odoo.tools.config.parse_config(["-c", config, "-d", database])
    registry = Registry(database)
    cr = registry.cursor()
    return cr, api.Environment(cr, SUPERUSER_ID, {})


def ensure_company_ready(env):
    company = env.company
    if not company.chart_template:
        env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)
    # The benchmark measures one email per invoice on any day of the week:
    # no contact cap, no quiet days.
    company.write(
        {
            "collection_contact_max_per_day": 0,
            "collection_contact_max_per_week": 0,
            "collection_quiet_days": False,
        }
    )
    process = env["collection.process"].search([("name", "=", PROCESS_NAME)], limit=1)
    if not process:
        process = env["collection.process"].create(
            {
                "name": PROCESS_NAME,
                "stage_ids": [
                    Command.create(
                        {
                            "name": "Reminder",
                            "delay_days": 0,
                            "delay_from": "enrollment",
                            "send_email": True,
                            "mail_template_id": env.ref(f"{ADDON}.mail_template_overdue").id,
                        }
                    ),
                    Command.create({"name": "Call", "delay_days": 7, "delay_from": "previous_stage"}),
                ],
            }
        )
    return process


def grow_customers(env, prefix, customers):
    """Customers ``<prefix>-<n>`` up to ``customers`` of them; all of them."""
    Partner = env["res.partner"]
    existing = Partner.search_count([("ref", "=like", f"{prefix}-%")])
    if existing < customers:
        Partner.create(
            [
                {
                    "name": f"{prefix.title()} customer {index}",
                    "ref": f"{prefix}-{index}",
                    "email": f"ap{index}@{prefix.lower()}.example.com",
                }
                for index in range(existing, customers)
            ]
        )
        env.cr.commit()
    return Partner.search([("ref", "=like", f"{prefix}-%")], order="id")


def grow_invoices(env, customers, invoices, invoice_date, due_date, after_post=None):
    """Posted invoices of ``customers``, up to ``invoices`` of them, built
    and committed by chunks; ``after_post(moves)`` runs on each chunk."""
    Move = env["account.move"]
    existing = Move.search_count([("move_type", "=", "out_invoice"), ("partner_id", "in", customers.ids)])
    for start in range(existing, invoices, CHUNK):
        stop = min(start + CHUNK, invoices)
        moves = Move.create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": customers[index % len(customers)].id,
                    "invoice_date": invoice_date,
                    "invoice_date_due": due_date,
                    "invoice_line_ids": [
                        Command.create({"name": "Services", "price_unit": 100 + index % 900, "tax_ids": []})
                    ],
                }
                for index in range(start, stop)
            ]
        )
        moves.action_post()
        if after_post:
            after_post(moves)
        if stop % ANALYZE_EVERY == 0:
            # Odoo's sequence lookup when posting scans every invoice of the
            # journal unless the planner knows the table grew: without fresh
            # statistics the build slows down quadratically (measured: 8
            # invoices/s at 50,000 instead of 40).
            env.cr.execute("ANALYZE account_move, account_move_line, collection_enrollment")
        env.cr.commit()
        env.invalidate_all()
        print(f"[bench] {stop} invoices", file=sys.stderr, flush=True)
    return Move.search_count([("move_type", "=", "out_invoice"), ("partner_id", "in", customers.ids)])


def grow(env, invoices, customers):
    """Add customers and enrolled invoices up to the asked totals."""
    process = ensure_company_ready(env)
    env.cr.commit()
    # The dataset is what the engine reads, not how it came: chatter tracking
    # of its creation would only slow the build down.
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    today = odoo.fields.Date.context_today(env["account.move"])
    grow_invoices(
        env,
        grow_customers(env, "BENCH", customers),
        invoices,
        today,
        today,
        after_post=lambda moves: moves.collection_enroll(process_id=process.id),
    )
    # Every enrollment gets its email action due again, under a new key.
    enrollments = env["collection.enrollment"].search([("process_id", "=", process.id)])
    first_stage = process.stage_ids.sorted("sequence")[:1]
    env.cr.execute(
        "UPDATE collection_enrollment SET state = 'running', stage_id = NULL, next_stage_id = %s, "
        "next_action_date = %s, stage_cycle = COALESCE(stage_cycle, 0) + 1, backoff_until = NULL "
        "WHERE id = ANY(%s)",
        (first_stage.id, today, enrollments.ids),
    )
    # A server in service has planner statistics (autovacuum): so does the bench.
    env.cr.execute("ANALYZE")
    env.cr.commit()
    return len(enrollments)


@contextmanager
def counted_statements(env):
    """A list that holds one item per statement sent within the block (the
    cursor's own counter restarts at commits)."""
    statements = []
    cursor_class = type(env.cr)
    original_execute = cursor_class.execute

    def counting_execute(cr, *args, **kwargs):
        statements.append(1)
        return original_execute(cr, *args, **kwargs)

    with patch.object(cursor_class, "execute", counting_execute):
        yield statements


def measured(env, work):
    """Run ``work()``, then commit; its wall time, every statement sent (the
    cursor's own counter restarts at commits) and memory."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with counted_statements(env) as statements:
        work()
        env.cr.commit()
    elapsed = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": round(elapsed, 2),
        "queries": len(statements),
        "peak_rss_mb": round(peak_rss / 1024, 1),
        "rss_growth_mb": round((peak_rss - rss_before) / 1024, 1),
    }


def measured_batches(env, work):
    """``measured(env, work)``, and each batch the engine committed as a
    sample, [(actions, seconds)] under ``batches``: the run's repeated
    samples, for a verdict beyond its noise."""
    batches = []
    Cron = type(env["ir.cron"])
    commit_progress = Cron._commit_progress
    last = time.perf_counter()

    def recording(cron, processed=0, **kwargs):
        nonlocal last
        result = commit_progress(cron, processed, **kwargs)
        now = time.perf_counter()
        batches.append((processed, round(now - last, 4)))
        last = now
        return result

    with patch.object(Cron, "_commit_progress", recording):
        figures = measured(env, work)
    return {**figures, "batches": batches}


def run_once(env):
    """One engine run as the scheduled action does it: it commits after each
    batch."""
    engine = env["collection.engine"].with_context(cron_id=-1)
    due = env["collection.enrollment"].search_count(engine._get_due_domain())
    figures = measured_batches(env, engine._cron_run)
    events = env["collection.event"].search_count([("action", "=", "email")])
    dashboard = time_dashboard(env)
    return {
        "actions": due,
        "seconds": figures["seconds"],
        "actions_per_second": round(due / figures["seconds"], 1) if figures["seconds"] else None,
        "queries_per_action": round(figures["queries"] / due, 2) if due else None,
        "peak_rss_mb": figures["peak_rss_mb"],
        "rss_growth_mb": figures["rss_growth_mb"],
        "batches": figures["batches"],
        "email_events_total": events,
        **dashboard,
    }


def time_dashboard(env):
    """Seconds to compute the KPI screen (last 90 days) and the analysis
    pivot grouped by process and stage, on the whole database."""
    timings = []
    # The screen as a user opens it, with its default period and both tables
    # rendered: once right after the run, and again, as a second user would.
    for _opening in range(2):
        env.invalidate_all()
        started = time.perf_counter()
        env["collection.dashboard"].create({}).read(["kpi_table", "stage_table"])
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    env["collection.analysis"]._read_group(
        [], groupby=["process_id", "stage_id"], aggregates=["amount_enrolled:sum", "amount_collected:sum"]
    )
    pivot = time.perf_counter() - started
    return {
        "kpi_seconds": round(timings[0], 2),
        "kpi_again_seconds": round(timings[1], 2),
        "pivot_seconds": round(pivot, 2),
    }


def run_command(description, commands, options=()):
    """Parse the command line, run ``commands[command](env, args)`` on the
    database and print its figures as one JSON line; ``options``: more
    integer options, as (name, default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", choices=list(commands))
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    for name, default in options:
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    cr, env = open_env(args.config, args.database)
    try:
        print(json.dumps(commands[args.command](env, args)))
    finally:
        cr.close()


def main():
    run_command(
        __doc__.splitlines()[0],
        {
            "setup": lambda env, args: {"enrollments": grow(env, args.invoices, args.customers)},
            "run": lambda env, _args: run_once(env),
        },
    )


if __name__ == "__main__":
    main()
