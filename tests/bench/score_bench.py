"""Benchmark of the payment score (``make bench-score``).

``setup --invoices N`` grows the benchmark database to about N paid
invoices (a year of a simulated ledger, scoring/ledger_plan.py, each
customer paying its own way) and N open invoices of the same customers,
every one in collections. ``run`` times, in this fresh process, what the score does at
that size: the nightly training (read the ledger, measure on the held-out
months, learn from everything), scoring every open invoice and customer
from scratch (every score created) and the next day (the scores that moved
written),
and the worklist's first page as the web client reads it. It prints its
figures as JSON.
"""

import math
import sys
import time
from datetime import date, timedelta
from operator import attrgetter

# Run as a script from tests/bench: the engine benchmark's helpers sit beside it.
from engine_bench import ensure_company_ready, grow_customers, measured, run_command
from lxml import etree
from sql_clone import Copy, InvoiceCloner

from odoo.tools.safe_eval import safe_eval

SEED = 7
HISTORY_DAYS = 365
# Open invoices beyond those the plan leaves unpaid are issued in these last days.
RECENT_DAYS = 40
# A simulated customer's invoices a year, on average (ledger_plan draws 0.6 to 3 a month).
INVOICES_PER_CUSTOMER_YEAR = 21.6
PREFIX = "SCORE"
PLAN_DAY_PARAMETER = "collections_score_bench.plan_day"
TEMPLATES_PARAMETER = "collections_score_bench.template_invoices"


def plan_books(invoices, today):
    """A year of a ledger ending today with at least ``invoices`` paid
    invoices (a few more), and ``invoices`` open ones: those its customers have not paid
    yet, and as many recent ones as it takes (issued in the last
    RECENT_DAYS, at their customer's usual amount and terms). (customers,
    paid, open), planned invoices ordered by issue."""
    # The add-ons are importable once the configuration names their path.
    from odoo.addons.collections_automation_score.scoring.ledger_plan import (  # noqa: PLC0415
        LedgerPlan,
        PlannedInvoice,
    )

    start = today - timedelta(days=HISTORY_DAYS)
    customers = max(round(invoices / INVOICES_PER_CUSTOMER_YEAR), 1)
    paid = []
    # Some of a year's invoices are not paid yet: as many customers more.
    while len(paid) < invoices:
        if paid:
            customers = math.ceil(customers * invoices / len(paid)) + 1
        plan = LedgerPlan(SEED, customers, HISTORY_DAYS, start=start)
        plan.plan()
        paid = [invoice for invoice in plan.invoices if invoice.paid and invoice.paid < today]
    open_ = [invoice for invoice in plan.invoices if not (invoice.paid and invoice.paid < today)]
    for index in range(max(invoices - len(open_), 0)):
        customer = plan.customers[index % customers]
        issued = today - timedelta(days=index % RECENT_DAYS)
        due = issued + timedelta(days=customer.terms)
        open_.append(PlannedInvoice(customer, issued, due, customer.usual_amount))
    by_issue = attrgetter("issued")
    return plan.customers, sorted(paid, key=by_issue), sorted(open_, key=by_issue)[:invoices]


def grow(env, invoices):
    process = ensure_company_ready(env)
    env.cr.commit()
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    # The plan is drawn from the day the dataset was first built: grown again
    # another day, it goes on with the same plan.
    params = env["ir.config_parameter"]
    plan_day = params.get_param(PLAN_DAY_PARAMETER)
    if not plan_day:
        plan_day = str(env.company._get_collection_today())
        params.set_param(PLAN_DAY_PARAMETER, plan_day)
    customers, paid, open_ = plan_books(invoices, date.fromisoformat(plan_day))
    partners = grow_customers(env, PREFIX, len(customers))
    planned = [(invoice, True) for invoice in paid] + [(invoice, False) for invoice in open_]
    # The first invoice of each kind (its customer's terms, paid or not) is
    # made by the ORM; every other is a copy of its kind's (sql_clone.py).
    kinds = {}
    for invoice, is_paid in planned:
        kinds.setdefault((invoice.customer.terms, is_paid), (invoice, is_paid))
    templates = list(kinds.values())
    made_by_orm = {id(invoice) for invoice, _is_paid in templates}
    ordered = templates + [item for item in planned if id(item[0]) not in made_by_orm]
    written = env["account.move"].search_count(
        [("move_type", "=", "out_invoice"), ("partner_id", "in", partners.ids)]
    )
    template_ids = params.get_param(TEMPLATES_PARAMETER)
    if written and not template_ids:
        sys.exit(f"{env.cr.dbname} was built without copies: rebuild it (BENCH_FRESH=1)")
    if not written:
        template_ids = ",".join(map(str, make_with_orm(env, templates, partners, process).ids))
        params.set_param(TEMPLATES_PARAMETER, template_ids)
        env.cr.commit()
        written = len(templates)
    template_of = dict(zip(kinds, map(int, template_ids.split(",")), strict=True))
    InvoiceCloner(env).clone_all(
        ordered,
        lambda item: Copy(
            template_of[item[0].customer.terms, item[1]],
            partners[item[0].customer.number].id,
            item[0].issued,
            item[0].amount,
            item[0].paid if item[1] else None,
        ),
        start=written,
    )
    return {"paid": len(paid), "open": len(open_), "customers": len(customers)}


def make_with_orm(env, planned, partners, process):
    """Post ``planned`` [(invoice, paid)] through the ORM, pay the paid ones
    on their day and put the others in collections."""
    loader = env["collection.score.demo.loader"]
    moves = loader._post_planned_invoices([invoice for invoice, _is_paid in planned], partners)
    loader._register_payments(
        [
            (move, move.amount_residual, invoice.paid)
            for move, (invoice, is_paid) in zip(moves, planned, strict=True)
            if is_paid
        ]
    )
    moves.filtered(lambda move: move.payment_state == "not_paid").collection_enroll(process_id=process.id)
    return moves


def run_once(env):
    company = env.company
    today = company._get_collection_today()
    Score = env["collection.score.model"]
    training = {}
    figures = {"train": measured(env, lambda: training.update(record=Score._train(company, today)))}
    # Scored from scratch, as the first night does: every invoice's and
    # customer's score is created.
    env["collection.invoice.score"].search([]).unlink()
    env["collection.customer.score"].search([]).unlink()
    env.cr.commit()
    figures["score"] = measured(env, lambda: Score._score_customers(company, today=today))
    # The next night: the scores of open invoices move a little, few change band.
    figures["rescore"] = measured(
        env, lambda: Score._score_customers(company, today=today + timedelta(days=1))
    )
    record = training["record"]
    open_invoices = env["account.move"].search_count(
        [
            ("company_id", "=", company.id),
            ("move_type", "=", "out_invoice"),
            ("payment_state", "=", "not_paid"),
        ]
    )
    return {
        "paid_invoices": record.invoice_count,
        "open_invoices": open_invoices,
        "train_seconds": figures["train"]["seconds"],
        "training_reported_seconds": round(record.duration, 1),
        "late_predictor": record.late_predictor,
        "model_auc": record.model_auc,
        "baseline_auc": record.baseline_auc,
        "score_seconds": figures["score"]["seconds"],
        "score_queries": figures["score"]["queries"],
        "rescore_seconds": figures["rescore"]["seconds"],
        "peak_rss_mb": figures["score"]["peak_rss_mb"],
        **time_worklist(env),
    }


def time_worklist(env):
    """The worklist's first page as the web client opens it, without the
    *My collections* filter (every open collection, as a team lead sees
    them): ordered by amount at risk, the list view's fields, the count."""
    action = env.ref("collections_automation_score.collection_enrollment_action_worklist")
    view = env.ref("collections_automation_score.collection_enrollment_view_list_worklist")
    Enrollment = env["collection.enrollment"]
    arch = Enrollment.get_views([(view.id, "list")])["views"]["list"]["arch"]
    names = dict.fromkeys(etree.fromstring(arch).xpath("//field/@name"))
    fields_spec = {
        name: {"fields": {"display_name": {}}} if Enrollment._fields[name].type == "many2one" else {}
        for name in names
    }
    domain = safe_eval(action.domain)
    timings = []
    for _opening in range(2):
        env.invalidate_all()
        started = time.perf_counter()
        page = Enrollment.web_search_read(
            domain, fields_spec, order="score_amount_at_risk desc, id", limit=80, count_limit=10001
        )
        timings.append(time.perf_counter() - started)
    return {
        "worklist_rows": page["length"],
        "worklist_seconds": round(timings[0], 3),
        "worklist_again_seconds": round(timings[1], 3),
    }


def main():
    run_command(
        __doc__.splitlines()[0],
        {
            "setup": lambda env, args: grow(env, args.invoices),
            "run": lambda env, _args: run_once(env),
        },
    )


if __name__ == "__main__":
    main()
