"""Benchmark of the collections desk at a large company's size (``make bench-desk``).

``setup --collections N`` grows the benchmark database to about N
collections over three years. Their histories are real: the lifecycle
simulation (collections_automation/tests/simulation.py) plays some months of
two companies through the engine (payments full and partial, online and
registered, credit notes, promises, disputes, holds, late charges, process
edits), and each of its invoices, with everything that hangs from it, is
copied by SQL (sql_clone.py) onto other customers and other days of the
three years, every date of its story moved alike. A story still open when
the simulation ended (its collection running or paused, or its invoice
unpaid and never in collections) is copied only onto the last days, as such
stories are in a real desk; another anywhere in the three years (an
escalated one still unpaid included).

``run`` opens each screen as the web client does, as an accountant of the
first company (a collections user through Invoicing's *Billing* group),
OPENINGS times each, and times the hourly engine run with nothing due (the
run before it caught up), with the plan of its enrollment query; it prints
their times and query counts as JSON.
"""

import functools
import math
import random
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from dateutil.relativedelta import relativedelta

# Run as a script from tests/bench: the other benchmarks' helpers sit beside it.
from engine_bench import counted_statements, ensure_company_ready, grow_customers, run_command
from lxml import etree
from sql_clone import Copy, InvoiceCloner

from odoo.tools import SQL
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

SEED = 28
YEARS_DAYS = 3 * 365
# The simulation's length and size in each company: a few months of a
# small book, whose stories are copied over the three years.
TEMPLATE_DAYS = 120
TEMPLATE_CUSTOMERS = 40
SECOND_COMPANY = "Desk Benchmark Europe"
# A copied customer's collections over the three years, on average.
COLLECTIONS_PER_CUSTOMER = 25
PREFIX = "DESK"
TEMPLATES_PARAMETER = "collections_desk_bench.template_invoices"
OPEN_STATES = ("running", "paused")


def companies(env):
    """The benchmark's two companies: the database's first, and a second
    one with its own chart of accounts."""
    ensure_company_ready(env)
    second = env["res.company"].search([("name", "=", SECOND_COMPANY)], limit=1)
    if not second:
        second = env["res.company"].create({"name": SECOND_COMPANY})
        env.user.company_ids |= second
        env["account.chart.template"].try_loading("generic_coa", company=second, install_demo=False)
    return env.company | second


def make_templates(env):
    """Play the lifecycle simulation in each company, one after the other,
    the last ending yesterday; the invoices they made. The engine runs for
    the whole database: after its own months, a company's collections go on
    through the next company's, their customers silent."""
    # The add-ons are importable once the configuration names their path.
    from odoo.addons.collections_automation.tests import (  # noqa: PLC0415
        simulation,
        simulation_invariants,
    )

    class TemplateHistory(simulation.LifecycleSimulation):
        # The engine's failures the simulation injects test its recovery;
        # the desk's stories do without them.
        def _injected_failures(self, enrollment_ids):
            return ExitStack()

    Move = env["account.move"]
    before = Move.search([]).ids
    books = companies(env)
    yesterday = env.company._get_collection_today() - timedelta(days=1)
    for index, company in enumerate(books):
        start = yesterday - timedelta(days=TEMPLATE_DAYS * (len(books) - index) - 1)
        company_env = env(context=dict(env.context, allowed_company_ids=company.ids))
        started = time.perf_counter()
        with patch.object(simulation, "START", start), patch.object(simulation_invariants, "START", start):
            TemplateHistory(
                SimpleNamespace(env=company_env), SEED + index, TEMPLATE_CUSTOMERS, TEMPLATE_DAYS
            ).run()
        env.flush_all()
        env.cr.commit()
        seconds = time.perf_counter() - started
        print(
            f"[bench] simulated {start} to {start + timedelta(days=TEMPLATE_DAYS - 1)} in {company.name} "
            f"in {seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return Move.search([("id", "not in", before), ("move_type", "=", "out_invoice")], order="id")


def plan_copies(env, templates, collections, events, rng):
    """[(template, shift in days)] for at least ``collections`` collections
    and ``events`` events more: the simulation's flow gone on for three
    years up to its last day."""
    cr = env.cr
    cr.execute(
        SQL(
            """SELECT move.id, count(DISTINCT enrollment.id), count(event.id),
                      coalesce(bool_or(enrollment.state = ANY(%s)), FALSE)
                      OR (count(enrollment.id) = 0 AND bool_or(move.state = 'posted'
                                                           AND move.payment_state IN ('not_paid', 'partial')))
                 FROM account_move move
                 LEFT JOIN collection_enrollment enrollment ON enrollment.move_id = move.id
                 LEFT JOIN collection_event event ON event.enrollment_id = enrollment.id
                WHERE move.id = ANY(%s)
                GROUP BY move.id""",
            list(OPEN_STATES),
            templates.ids,
        )
    )
    facts = cr.fetchall()
    # Three years hold this many windows of the simulation's length; a story
    # still open is in the last one only, a closed one in any.
    windows = YEARS_DAYS / TEMPLATE_DAYS
    weights = [1 if is_open else windows for _id, _collections, _events, is_open in facts]
    rounds = max(
        collections / sum(weight * fact[1] for weight, fact in zip(weights, facts, strict=True)),
        events / sum(weight * fact[2] for weight, fact in zip(weights, facts, strict=True)),
    )
    # The days from the first template's invoice to the simulations' end.
    span = (max(templates.mapped("invoice_date")) - min(templates.mapped("invoice_date"))).days + 1
    plan = []
    for (template, _collections, _events, is_open), weight in zip(facts, weights, strict=True):
        copies = rounds * weight
        for _copy in range(int(copies) + (rng.random() < copies % 1)):
            # The simulation's last day is yesterday: a copy ends on it, or
            # earlier by a whole number of days within the three years.
            plan.append((template, 0 if is_open else -rng.randrange(max(YEARS_DAYS - span, 1))))
    if not plan:
        # A few short: the draw may take none; the largest story then.
        plan.append((max(facts, key=lambda fact: fact[2])[0], 0))
    rng.shuffle(plan)
    return plan


def count_rows(env):
    env.cr.execute(
        "SELECT (SELECT count(*) FROM collection_enrollment), (SELECT count(*) FROM collection_event)"
    )
    return env.cr.fetchone()


def grow(env, collections, events):
    """The templates, then copies until the database holds ``collections``
    collections and ``events`` events (both at least)."""
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    params = env["ir.config_parameter"]
    if not params.get_param(TEMPLATES_PARAMETER):
        templates = make_templates(env)
        params.set_param(TEMPLATES_PARAMETER, ",".join(map(str, templates.ids)))
        env.cr.commit()
    templates = env["account.move"].browse(map(int, params.get_param(TEMPLATES_PARAMETER).split(",")))
    customers = grow_customers(env, PREFIX, max(math.ceil(collections / COLLECTIONS_PER_CUSTOMER), 1))
    facts = {move.id: (move.invoice_date, move.amount_total) for move in templates}

    def copy_of(item, rng):
        template, shift = item
        issued, amount = facts[template]
        return Copy(
            template, rng.choice(customers).id, issued + timedelta(days=shift), amount * rng.uniform(0.5, 2)
        )

    have_collections, have_events = count_rows(env)
    # A plan draws its copies at random: short by a few, it draws again.
    while have_collections < collections or have_events < events:
        rng = random.Random(SEED + have_collections)
        plan = plan_copies(
            env, templates, max(collections - have_collections, 0), max(events - have_events, 0), rng
        )
        InvoiceCloner(env, whole_history=True).clone_all(plan, functools.partial(copy_of, rng=rng))
        have_collections, have_events = count_rows(env)
    # What the nightly scheduled action leaves for the morning: the KPI
    # trends and the days they add up (the first time, two years of them).
    started = time.perf_counter()
    env["collection.kpi.period"]._refresh()
    env.cr.commit()
    return {
        "kpi_refresh_seconds": round(time.perf_counter() - started, 1),
        "collections": have_collections,
        "events": have_events,
        "invoices": env["account.move"].search_count([("move_type", "=", "out_invoice")]),
        "templates": len(templates),
    }


# ----------------------------------------------------------------------
# The screens
# ----------------------------------------------------------------------

COLLECTOR_LOGIN = "desk-bench-collector"
# Each screen is opened this many times, each as a new request.
OPENINGS = 5
# A list's or kanban's first page, as the web client asks for it.
PAGE = {"list": 80, "kanban": 40}
COUNT_LIMIT = 10_001
# The periods the KPI screen is opened on, ending today.
KPI_PERIODS = {
    "kpi_month": relativedelta(months=1),
    "kpi_quarter": relativedelta(months=3),
    "kpi_year": relativedelta(years=1),
}


def collector(env):
    """An accountant of the first company (Invoicing's *Billing* group,
    which makes a collections user), as the screens' reader."""
    Users = env["res.users"].with_context(no_reset_password=True)
    user = Users.search([("login", "=", COLLECTOR_LOGIN)])
    if not user:
        user = Users.create(
            {
                "name": "Desk benchmark collector",
                "login": COLLECTOR_LOGIN,
                "company_id": env.company.id,
                "company_ids": env.company.ids,
                "group_ids": [(6, 0, env.ref("account.group_account_invoice").ids)],
            }
        )
        env.cr.commit()
    return env(
        user=user, context={"allowed_company_ids": env.company.ids, "tz": "Europe/Brussels", "lang": "en_US"}
    )


def opened(env, open_screen):
    """``open_screen()`` done OPENINGS times, each as a new request (the
    ORM's cache empty): its seconds and statements each time."""
    samples = []
    for _opening in range(OPENINGS):
        env.invalidate_all()
        with counted_statements(env) as statements:
            started = time.perf_counter()
            open_screen()
            samples.append((round(time.perf_counter() - started, 4), len(statements)))
        env.cr.rollback()
    return {"seconds": [seconds for seconds, _count in samples], "queries": samples[-1][1]}


def view_specification(model, view_type, view_ref=None):
    """The fields the web client reads for the view, as web_search_read's
    specification (a related record's name)."""
    view_id = model.env.ref(view_ref).id if view_ref else False
    arch = model.get_views([(view_id, view_type)])["views"][view_type]["arch"]
    return fields_specification(model, etree.fromstring(arch))


def fields_specification(model, node):
    """The specification of the fields under ``node`` (an arch's element)."""
    specification = {}
    for name in dict.fromkeys(field.get("name") for field in node.iter("field")):
        field = model._fields.get(name)
        if field is None:
            continue
        specification[name] = (
            {"fields": {"display_name": {}}} if field.type in ("many2one", "many2many") else {}
        )
    return specification


def search_filters(model, search_view_ref):
    """{filter name: domain} of the search view's filters that hold a domain."""
    arch = model.get_views([(model.env.ref(search_view_ref).id, "search")])["views"]["search"]["arch"]
    evaluation = {
        "uid": model.env.uid,
        "datetime": safe_datetime,
        "relativedelta": relativedelta,
    }
    return {
        node.get("name"): safe_eval(node.get("domain"), evaluation)
        for node in etree.fromstring(arch).iter("filter")
        if node.get("domain")
    }


def time_collection_lists(env):
    """The collections' list and kanban, first page, with each filter."""
    Enrollment = env["collection.enrollment"]
    figures = {}
    for view_type, limit in PAGE.items():
        specification = view_specification(Enrollment, view_type)
        for name, domain in search_filters(
            Enrollment, "collections_automation.collection_enrollment_view_search"
        ).items():
            figures[f"{view_type}_{name}"] = opened(
                env,
                lambda domain=domain, specification=specification, limit=limit: Enrollment.web_search_read(
                    domain, specification, limit=limit, count_limit=COUNT_LIMIT
                ),
            )
    return figures


def time_kpi_screen(env):
    """The KPI screen as it opens (the last 90 days), then on each period."""
    Dashboard = env["collection.dashboard"]
    view = env.ref("collections_automation.collection_dashboard_view_form")
    arch = Dashboard.get_views([(view.id, "form")])["views"]["form"]["arch"]
    specification = fields_specification(Dashboard, etree.fromstring(arch))
    today = env.company._get_collection_today()
    figures = {"kpi_opened": opened(env, lambda: Dashboard.onchange({}, [], specification))}
    for name, length in KPI_PERIODS.items():
        values = {
            "company_id": env.company.id,
            "date_from": str(today - length + relativedelta(days=1)),
            "date_to": str(today),
        }
        figures[name] = opened(
            env, lambda values=values: Dashboard.onchange(values, ["date_from"], specification)
        )
    return figures


def time_analysis_pivot(env):
    """The analysis as it opens: its pivot by process and stage, the months
    of enrolment across, every total."""
    Analysis = env["collection.analysis"]
    measures = ["amount_enrolled:sum", "amount_collected:sum", "amount_outstanding:sum", "__count"]
    rows = [[], ["process_id"], ["process_id", "stage_id"]]
    grouping_sets = rows + [[*row, "enrolled_on:month"] for row in rows]
    return {
        "analysis_pivot": opened(
            env, lambda: Analysis.formatted_read_grouping_sets([], grouping_sets, measures)
        )
    }


def time_customer_tab(env):
    """The *Collections* tab of the customer with the most collections."""
    env.cr.execute(
        "SELECT partner_id FROM collection_enrollment GROUP BY partner_id ORDER BY count(*) DESC LIMIT 1"
    )
    partner = env["res.partner"].browse(env.cr.fetchone()[0])
    arch = partner.get_views([(False, "form")])["views"]["form"]["arch"]
    page = etree.fromstring(arch).xpath("//page[@name='collections']")[0]
    tab_list = page.xpath(".//field[@name='collection_enrollment_ids']/list")[0]
    specification = {
        name: {}
        for name in (
            "collection_open_count",
            "collection_amount_due",
            "collection_currency_id",
            "collection_promise_count",
            "collection_dispute_count",
            "collection_avg_days_to_pay",
        )
    }
    specification["collection_enrollment_ids"] = {
        "fields": fields_specification(env["collection.enrollment"], tab_list),
        "limit": 40,
        "order": "",
    }
    return {"customer_tab": opened(env, lambda: partner.web_read(specification))}


def time_collection_events(env):
    """The events list filtered by the collection with the most events."""
    env.cr.execute(
        "SELECT enrollment_id FROM collection_event GROUP BY enrollment_id ORDER BY count(*) DESC LIMIT 1"
    )
    domain = [("enrollment_id", "=", env.cr.fetchone()[0])]
    Event = env["collection.event"]
    specification = view_specification(Event, "list", "collections_automation.collection_event_view_list")
    return {
        "events_by_collection": opened(
            env,
            lambda: Event.web_search_read(domain, specification, limit=PAGE["list"], count_limit=COUNT_LIMIT),
        )
    }


def time_worklist(env):
    """The worklist's first page (the payment score's add-on)."""
    # The web client loads an action as the superuser (/web/action/load).
    action = env.ref("collections_automation_score.collection_enrollment_action_worklist").sudo()
    Enrollment = env["collection.enrollment"]
    specification = view_specification(
        Enrollment, "list", "collections_automation_score.collection_enrollment_view_list_worklist"
    )
    domain = safe_eval(action.domain or "[]")
    return {
        "worklist": opened(
            env,
            lambda: Enrollment.web_search_read(
                domain,
                specification,
                order="score_amount_at_risk desc, id",
                limit=PAGE["list"],
                count_limit=COUNT_LIMIT,
            ),
        )
    }


def time_idle_run(env):
    """The hourly engine run when nothing is due (the run before it caught
    up), and the plan of the triggers' enrollment query."""
    engine = env["collection.engine"].with_context(cron_id=-1)
    engine._cron_run()
    env.cr.commit()
    samples = []
    for _run in range(OPENINGS):
        env.invalidate_all()
        with counted_statements(env) as statements:
            started = time.perf_counter()
            engine._cron_run()
            samples.append((round(time.perf_counter() - started, 4), len(statements)))
        env.cr.commit()
    company = env.company
    processes = env["collection.process"].search([("company_id", "in", [company.id, False])])
    domain = engine._get_auto_enroll_domain(company, processes, company._get_collection_today())
    query = env["account.move"].with_company(company)._search(domain, order="invoice_date_due, id")
    env.cr.execute(SQL("EXPLAIN (ANALYZE, BUFFERS) %s", query.select()))
    plan = [row[0] for row in env.cr.fetchall()]
    return {
        "idle_run": {"seconds": [seconds for seconds, _count in samples], "queries": samples[-1][1]},
        "enrollment_query_plan": plan,
    }


def run_once(env):
    user_env = collector(env)
    env.cr.execute(
        SQL(
            "SELECT count(*), count(*) FILTER (WHERE state = ANY(%s)) FROM collection_enrollment",
            [*OPEN_STATES, "escalated"],
        )
    )
    collections, open_collections = env.cr.fetchone()
    env.cr.execute("SELECT count(*) FROM collection_event")
    events = env.cr.fetchone()[0]
    screens = {}
    for timing in (
        time_kpi_screen,
        time_analysis_pivot,
        time_collection_lists,
        time_customer_tab,
        time_collection_events,
        time_worklist,
    ):
        screens.update(timing(user_env))
    idle = time_idle_run(env)
    return {
        "collections": collections,
        "open_collections": open_collections,
        "events": events,
        "screens": screens,
        **idle,
    }


def main():
    run_command(
        __doc__.splitlines()[0],
        {
            "setup": lambda env, args: grow(env, args.collections, args.events),
            "run": lambda env, _args: run_once(env),
        },
        options=[("collections", 1_000_000), ("events", 10_000_000)],
    )


if __name__ == "__main__":
    main()
