"""The add-on installs with its demo data and uninstalls cleanly, in a
database of its own (the suite's test database keeps the add-on). A test
that changes the demo database (runs the engine, uninstalls) works on a copy
of it, so that its failure leaves the others a database as make run builds
it."""

import re
import subprocess
from datetime import date, timedelta

import pytest
from clock_matrix import free_port
from devenv import DEMO_MODULES, demo_server, print_demo_letters_again
from mail_catcher import MailCatcher
from odoo_env import (
    database_copy,
    drop_database,
    execute,
    odoo_config_path,
    query,
    run_odoo,
    uninstall_module,
)
from queue_servers import trigger_engine, wait_for_batch_jobs, wait_until_serving

ADDON = "collections_automation"
DATABASE = "collections_install_check"
COPY = "collections_install_check_copy"


@pytest.fixture(scope="module")
def demo_database():
    drop_database(DATABASE)
    # As make run builds its demo database.
    run_odoo(
        "server",
        "-d",
        DATABASE,
        "-i",
        ",".join(DEMO_MODULES),
        "--with-demo",
        "--stop-after-init",
        "--no-http",
    )
    yield DATABASE
    drop_database(DATABASE)


def _demo_today(database):
    """The day the demo data was built for: Odoo's today in the loader's
    time zone, which near midnight is not the database server's date."""
    result = _shell(
        database, "print('DEMO-TODAY', odoo.fields.Date.context_today(env['collection.demo.loader']))\n"
    )
    [line] = [line for line in result.stdout.splitlines() if line.startswith("DEMO-TODAY ")]
    return line.split()[1]


def _company_today(database):
    """Today on the demo company's calendar, as the engine counts it: near
    midnight it is not the database server's date, nor the loader's."""
    result = _shell(
        database,
        "print('COMPANY-TODAY', env.company._get_collection_today())\n",
    )
    [line] = [line for line in result.stdout.splitlines() if line.startswith("COMPANY-TODAY ")]
    return line.split()[1]


def _demo_invoices(database):
    return query(
        database,
        """
        SELECT m.payment_state, m.invoice_date_due - %s::date, m.amount_residual, m.amount_total
          FROM account_move m
          JOIN ir_model_data d ON d.model = 'res.partner' AND d.res_id = m.partner_id
         WHERE d.module = %s AND m.move_type = 'out_invoice' AND m.state = 'posted'
        """,
        (_demo_today(database), ADDON),
    )


def test_demo_data_looks_like_a_collections_desk(demo_database):
    customers = query(
        demo_database,
        """
        SELECT count(*), count(DISTINCT p.country_id)
          FROM res_partner p
          JOIN ir_model_data d ON d.model = 'res.partner' AND d.res_id = p.id AND d.module = %s
        """,
        (ADDON,),
    )
    assert customers == [(20, 2)]
    segments = query(
        demo_database,
        """
        SELECT d.name, count(rel.partner_id)
          FROM ir_model_data d
          JOIN res_partner_res_partner_category_rel rel ON rel.category_id = d.res_id
         WHERE d.module = %s AND d.model = 'res.partner.category'
           AND d.name IN ('res_partner_category_retail_demo', 'res_partner_category_wholesale_demo',
                          'res_partner_category_key_demo')
         GROUP BY d.name ORDER BY d.name
        """,
        (ADDON,),
    )
    assert segments == [
        ("res_partner_category_key_demo", 4),
        ("res_partner_category_retail_demo", 9),
        ("res_partner_category_wholesale_demo", 7),
    ]
    invoices = _demo_invoices(demo_database)
    # The desk's 60 invoices, 18 of them paid, and the payment score's year
    # of paid history behind them.
    assert len(invoices) > 60
    assert sum(1 for state, *_rest in invoices if state not in ("paid", "in_payment", "reversed")) == 42
    states = {state for state, *_rest in invoices}
    assert states >= {"not_paid", "partial"} and states & {"paid", "in_payment"}
    open_days = {days for state, days, *_rest in invoices if state == "not_paid"}
    assert {-1, -5, -20, -45, -90} <= open_days, "open invoices 1, 5, 20, 45 and 90 days overdue"
    assert any(0 < days <= 7 for days in open_days), "an invoice due in a few days"
    partial = [(residual, total) for state, _days, residual, total in invoices if state == "partial"]
    assert partial and all(0 < residual < total for residual, total in partial)


def test_demo_collections_desk_is_working(demo_database):
    processes = query(demo_database, "SELECT count(*) FROM collection_process WHERE active")
    assert processes == [(3,)]
    rules = query(demo_database, "SELECT count(*) FROM collection_segment_rule WHERE active")
    assert rules == [(3,)]
    running_stages = query(
        demo_database,
        "SELECT count(DISTINCT stage_id), count(*) FROM collection_enrollment WHERE state = 'running'",
    )
    assert running_stages[0][0] >= 3, "running enrollments stand at several stages"
    assert (
        query(demo_database, "SELECT count(*) FROM collection_enrollment WHERE state = 'escalated'")[0][0] > 0
    )
    failures = query(demo_database, "SELECT count(*) FROM collection_enrollment WHERE last_error IS NOT NULL")
    assert failures == [(0,)]
    # Some collections are paid after a reminder: the KPIs have cash collected.
    paid = query(
        demo_database,
        "SELECT count(*) FROM collection_enrollment WHERE state = 'paid' AND amount_collected > 0",
    )
    assert paid[0][0] > 0, "some demo collections are paid"


def test_the_demo_payment_score_learned_from_a_year_of_history(demo_database):
    """collections_automation_score's demo: a year of the demo customers'
    paid invoices, a training on it, every demo customer scored with its
    factors, the open invoices with a predicted pay date, the worklist
    ranked by amount at risk and thirteen weeks of cash-in forecast."""
    result = _shell(
        demo_database,
        (
            "customers = env['collection.demo.loader']._get_demo_customers()\n"
            "today = env.company._get_collection_today()\n"
            "paid = env['account.move'].search([('partner_id', 'in', customers.ids),\n"
            "    ('move_type', '=', 'out_invoice'), ('payment_state', 'in', ('paid', 'in_payment'))])\n"
            "print('HISTORY', len(paid), (today - min(paid.mapped('invoice_date'))).days)\n"
            "training = env['collection.score.model']._get_current(env.company)\n"
            "print('TRAINING', training.invoice_count, training.holdout_rows, training.predictor_reason)\n"
            "print('BANDS', len(customers.filtered('collection_score_band')), len(customers),\n"
            "    len(set(customers.mapped('collection_score_band'))))\n"
            "print('FACTORS', len(customers.filtered('collection_score_factors')))\n"
            "open_invoices = env['account.move'].search([('partner_id', 'in', customers.ids),\n"
            "    ('move_type', '=', 'out_invoice'), ('payment_state', 'in', ('not_paid', 'partial'))])\n"
            "predicted = open_invoices.filtered('collection_predicted_pay_date')\n"
            "print('PREDICTED', len(predicted), len(open_invoices))\n"
            "action = env.ref('collections_automation_score.collection_enrollment_action_worklist')\n"
            "from odoo.tools.safe_eval import safe_eval\n"
            "worklist = env['collection.enrollment'].search(safe_eval(action.domain or '[]'))\n"
            "print('AT-RISK', len(worklist.filtered(lambda e: e.score_amount_at_risk > 0)), len(worklist))\n"
            "weeks = env['collection.score.forecast'].search([('company_id', '=', env.company.id)])\n"
            "print('FORECAST', len(weeks), round(sum(weeks.mapped('expected'))))\n"
        ),
    )
    lines = _printed(result)
    paid, oldest_days = map(int, lines["HISTORY"].split())
    assert paid >= 300 and oldest_days >= 330, result.stdout + result.stderr
    invoices, held_out, reason = lines["TRAINING"].split()
    assert int(invoices) >= 300 and int(held_out) >= 50 and reason in ("better", "worse"), result.stdout
    scored, customers, bands = map(int, lines["BANDS"].split())
    assert scored == customers == 20 and bands >= 3, result.stdout
    assert int(lines["FACTORS"]) == 20, result.stdout
    predicted, open_count = map(int, lines["PREDICTED"].split())
    assert predicted == open_count > 0, result.stdout
    at_risk, worklist = map(int, lines["AT-RISK"].split())
    assert worklist > 0 and at_risk > 0, result.stdout
    weeks, expected = map(int, lines["FORECAST"].split())
    assert weeks == 13 and expected > 0, result.stdout


def test_the_demo_kpis_agree_with_each_other(demo_database):
    """The KPI screen of the demo, its default 90 days: the stages brought
    cash in, and the stage table adds up to the cash collected (what was
    paid before any stage ran on a line of its own); the stages that ran got
    paid collections, and a collection takes days to be paid."""
    result = _shell(
        demo_database,
        (
            "screen = env['collection.dashboard'].create({})\n"
            "kpis = env['collection.kpi']._get_kpis(screen.company_id, screen.date_from, screen.date_to)\n"
            "by_stage = kpis['cash_collected_by_stage']\n"
            "after_stages = sum(amount for (_process, stage), amount in by_stage.items() if stage)\n"
            "paid = sum(paid for _reached, paid in kpis['stage_effectiveness'].values())\n"
            "print('CASH', round(kpis['cash_collected'], 2), round(after_stages, 2))\n"
            "total = screen.currency_id.format(kpis['cash_collected'])\n"
            "print('TOTAL-SHOWN', total in str(screen.stage_table))\n"
            "print('PAID-AFTER-A-STAGE', paid)\n"
            "print('MEDIAN-DAYS', kpis['median_days_to_collect'])\n"
        ),
    )
    lines = _printed(result)
    cash, after_stages = map(float, lines["CASH"].split())
    assert after_stages > 0, result.stdout
    assert after_stages == cash or lines["TOTAL-SHOWN"] == "True", result.stdout
    assert int(lines["PAID-AFTER-A-STAGE"]) > 0, result.stdout
    assert float(lines["MEDIAN-DAYS"]) >= 3, result.stdout


def test_the_demo_collections_dashboard_has_every_chart_filled(demo_database):
    """The Dashboards app's Collections dashboard, as the demo accountant
    opens it: each chart's query finds something, promises and disputes
    included."""
    result = _shell(
        demo_database,
        (
            "import json\n"
            "user = env['res.users'].search([('login', '=', 'demo')])\n"
            "dashboard = env.ref('collections_automation_spreadsheet.dashboard_collections')\n"
            "print('VISIBLE', dashboard in env['spreadsheet.dashboard'].with_user(user).search([]))\n"
            "data = json.loads(dashboard.spreadsheet_data)\n"
            "for figure in data['sheets'][0]['figures']:\n"
            "    chart = figure['data']\n"
            "    if 'metaData' not in chart:\n"
            "        continue\n"
            "    meta = chart['metaData']\n"
            "    measure = '__count' if meta['measure'] == '__count' else meta['measure'] + ':sum'\n"
            "    groups = env[meta['resModel']].with_user(user)._read_group(\n"
            "        chart['searchParams']['domain'], meta['groupBy'], [measure])\n"
            "    print('CHART', sum(1 for group in groups if group[-1]), chart['title']['text'])\n"
        ),
    )
    assert "VISIBLE True" in result.stdout, result.stdout
    charts = dict(
        reversed(line.split(" ", 2)[1:]) for line in result.stdout.splitlines() if line.startswith("CHART ")
    )
    assert len(charts) == 8, result.stdout
    assert all(int(count) > 0 for count in charts.values()), charts


def test_the_demo_reads_in_french_once_french_is_installed(demo_database_copy):
    """Installing French from the Settings translates the demo's processes,
    their stages and the payment page's title, as Odoo's own demo data."""
    result = _shell(
        demo_database_copy,
        (
            "lang = env['res.lang'].with_context(active_test=False).search([('code', '=', 'fr_FR')])\n"
            "env['base.language.install'].create({'lang_ids': [(6, 0, lang.ids)]}).lang_install()\n"
            "process = env.ref('collections_automation.collection_process_standard_demo')\n"
            "process = process.with_context(lang='fr_FR')\n"
            "print('TITLE', process.payment_page_title)\n"
            "print('STAGES', ' | '.join(process.stage_ids.sorted('sequence').mapped('name')))\n"
        ),
    )
    assert "TITLE Vos factures ouvertes" in result.stdout, result.stdout + result.stderr
    assert "STAGES Échéance aujourd'hui | Relance | Appel téléphonique | Mise en demeure" in result.stdout, (
        result.stdout
    )


def _demo_letter_fonts(database):
    """{letter attachment id: the fonts its PDF embeds}. Without the
    report's styles wkhtmltopdf writes in its default font, DejaVu Serif;
    with them, the report's web font is drawn, no font embedded."""
    result = _shell(
        database,
        (
            "import re\n"
            "letters = env['ir.attachment'].search([\n"
            "    ('res_model', '=', 'collection.enrollment'), ('mimetype', '=', 'application/pdf')])\n"
            "font = re.compile(rb'/BaseFont\\s*/(?:[A-Z]{6}\\+)?([A-Za-z0-9-]+)')\n"
            "for letter in letters:\n"
            "    fonts = sorted(set(font.findall(letter.raw)))\n"
            "    print('LETTER', letter.id, b','.join(fonts).decode() or '-')\n"
        ),
    )
    return dict(line.split()[1:] for line in result.stdout.splitlines() if line.startswith("LETTER "))


def test_make_run_prints_the_demo_letters_again_with_their_styles(demo_database_copy):
    """Letters printed with no web server to fetch the report's styles from
    (as while Odoo installs the demo) come out in wkhtmltopdf's default
    font: make run prints them again from a server, styled."""
    unstyled = _shell(
        demo_database_copy,
        "print('PRINTED', env['collection.demo.loader']._print_demo_letters_again('http://127.0.0.1:9'))\n"
        "env.cr.commit()\n",
    )
    assert "PRINTED 0" not in unstyled.stdout, unstyled.stdout
    before = _demo_letter_fonts(demo_database_copy)
    assert before and all("DejaVuSerif" in fonts for fonts in before.values()), before
    assert print_demo_letters_again(demo_database_copy, conf=odoo_config_path()) == len(before)
    after = _demo_letter_fonts(demo_database_copy)
    assert after.keys() == before.keys()
    assert not any("DejaVuSerif" in fonts for fonts in after.values()), after


def test_make_run_sends_the_demo_emails_to_its_mail_catcher(demo_database_copy, tmp_path):
    """make run's server sends the demo's reminders to a mail catcher on the
    machine: they go out, so no failed-mail icon shows in the chatter."""
    catcher = MailCatcher(tmp_path).start()
    try:
        result = _shell(
            demo_database_copy,
            (
                "env['mail.mail'].process_email_queue()\n"
                "statuses = env['mail.notification'].search([\n"
                "    ('mail_message_id.model', '=', 'collection.enrollment'),\n"
                "    ('notification_type', '=', 'email')]).mapped('notification_status')\n"
                "print('STATUSES', ','.join(sorted(set(statuses))))\n"
            ),
            "--smtp",
            "127.0.0.1",
            "--smtp-port",
            catcher.port,
        )
    finally:
        catcher.stop()
    assert "STATUSES sent" in result.stdout.splitlines(), result.stdout
    assert list(tmp_path.glob("*.eml")), "the reminders reached the catcher"


def _printed(result):
    """{NAME: the rest} of the lines a shell script printed as "NAME the rest"."""
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if re.match(r"[A-Z-]+ ", line))


def _shell(database, script, *options):
    """Run ``script`` in an Odoo shell on ``database`` (with Odoo's
    ``options``); its output."""
    return run_odoo("shell", "-d", database, "--no-http", *options, stdin=script)


def test_demo_user_sees_the_collections_menu_and_invoices(demo_database):
    result = _shell(
        demo_database,
        (
            "from odoo.tools.safe_eval import safe_eval\n"
            "user = env['res.users'].search([('login', '=', 'demo')])\n"
            "menu = env.ref('collections_automation.collections_menu_root')\n"
            "action = env.ref('collections_automation.account_move_action_to_collect')\n"
            "invoices = env['account.move'].with_user(user).search(safe_eval(action.domain))\n"
            "print('MENU-VISIBLE', menu.id in env['ir.ui.menu'].with_user(user)._visible_menu_ids())\n"
            "demo = invoices.filtered(lambda m: m.partner_id.email.startswith('accounts@'))\n"
            "print('DEMO-INVOICES', len(demo))\n"
        ),
    )
    assert "MENU-VISIBLE True" in result.stdout
    # 60 demo invoices: 12 paid before collections, 6 paid after a reminder.
    assert "DEMO-INVOICES 42" in result.stdout


def test_a_demo_customer_can_pay_a_reminder_with_the_demo_provider(demo_database):
    result = _shell(
        demo_database,
        (
            "provider = env.ref('payment.payment_provider_demo')\n"
            "print('PROVIDER', provider.state, provider.is_published)\n"
            "enrollment = env['collection.enrollment'].search([('state', '=', 'running')], limit=1)\n"
            "providers = env['payment.provider']._get_compatible_providers(\n"
            "    enrollment.company_id.id, enrollment.partner_id.id, enrollment.amount_residual,\n"
            "    currency_id=enrollment.currency_id.id)\n"
            "print('PAYABLE', provider in providers)\n"
            "tx = env['payment.transaction'].create({\n"
            "    'provider_id': provider.id,\n"
            "    'payment_method_id': env.ref('payment.payment_method_unknown').id,\n"
            "    'operation': 'online_direct',\n"
            "    'amount': enrollment.amount_residual, 'currency_id': enrollment.currency_id.id,\n"
            "    'partner_id': enrollment.partner_id.id, 'invoice_ids': [(6, 0, enrollment.move_id.ids)],\n"
            "    'collection_enrollment_id': enrollment.id})\n"
            "tx._process('demo', {\n"
            "    'reference': tx.reference, 'simulated_state': 'done', 'payment_details': '4242'})\n"
            "tx._post_process()\n"
            "print('PAID', enrollment.state, enrollment.move_id.payment_state in ('paid', 'in_payment'))\n"
        ),
    )
    assert "PROVIDER test True" in result.stdout
    assert "PAYABLE True" in result.stdout
    assert "PAID paid True" in result.stdout


def test_a_demo_customer_pays_the_emailed_reminder_in_chromium(demo_database):
    """collections_automation/tests/demo_database_tour.py, run by Odoo's test
    runner on the demo database, with its own HTTP server and Chromium."""
    result = run_odoo(
        "server",
        "-d",
        demo_database,
        "--test-tags",
        "collections_demo_database",
        "--http-port",
        str(free_port()),
        "--stop-after-init",
    )
    log = result.stdout + result.stderr
    assert re.search(r"0 failed, 0 error\(s\) of 1 tests", log), log[-4000:]


@pytest.fixture
def demo_database_copy(demo_database):
    with database_copy(demo_database, COPY):
        yield COPY


def test_the_demo_lets_a_newcomer_start_collections_from_an_overdue_invoice(demo_database_copy):
    """The manual's first step on the demo: an invoice one day overdue is in
    no collection yet, and its *Action > Start collections* enrolls it."""
    due = date.fromisoformat(_demo_today(demo_database_copy)) - timedelta(days=1)
    result = _shell(
        demo_database_copy,
        (
            "user = env['res.users'].search([('login', '=', 'demo')])\n"
            "invoices = env['account.move'].with_user(user).search([\n"
            "    ('move_type', '=', 'out_invoice'), ('state', '=', 'posted'),\n"
            f"    ('invoice_date_due', '=', '{due}'), ('payment_state', '=', 'not_paid')])\n"
            "print('JUST-OVERDUE', len(invoices), len(invoices.collection_enrollment_ids))\n"
            "Wizard = env['collection.enroll.wizard'].with_user(user)\n"
            "wizard = Wizard.create({'move_ids': invoices[:1].ids})\n"
            "print('TO-ENROLL', wizard.enroll_count)\n"
            "wizard.action_enroll()\n"
            "print('ENROLLED', invoices[:1].collection_enrollment_id.state)\n"
        ),
    )
    [counts] = [line for line in result.stdout.splitlines() if line.startswith("JUST-OVERDUE ")]
    assert int(counts.split()[1]) > 0 and counts.split()[2] == "0", result.stdout
    assert "TO-ENROLL 1" in result.stdout, result.stdout + result.stderr
    assert "ENROLLED running" in result.stdout, result.stdout + result.stderr


def test_make_runs_server_runs_the_engine_through_the_job_queue(demo_database_copy, tmp_path):
    """make run serves the demo with queue_job's runner: the engine's
    scheduled action queues its due work as jobs, and the server runs them.
    The contact policy is off, as what this checks is the job queue: on a
    quiet day (a Saturday) the stage is rightly deferred, and the run then
    queues another job for the day it is deferred to."""
    demo_database = demo_database_copy
    execute(
        demo_database,
        "UPDATE res_company SET collection_quiet_days = false,"
        " collection_contact_max_per_day = 0, collection_contact_max_per_week = 0",
    )
    assert query(
        demo_database, "SELECT state FROM ir_module_module WHERE name = 'collections_automation_queue_job'"
    ) == [("installed",)]
    [(enrollment_id, events_before)] = query(
        demo_database,
        """
        SELECT e.id, (SELECT count(*) FROM collection_event v WHERE v.enrollment_id = e.id)
          FROM collection_enrollment e
         WHERE e.state = 'running' AND e.next_stage_id IS NOT NULL
         ORDER BY e.id LIMIT 1
        """,
    )
    # Its next stage falls due today.
    execute(
        demo_database,
        "UPDATE collection_enrollment SET next_action_date = %s WHERE id = %s",
        (_company_today(demo_database), enrollment_id),
    )
    port = free_port()
    command, environment = demo_server(demo_database, http_port=port)
    with open(tmp_path / "odoo.log", "w") as log:
        server = subprocess.Popen(
            [str(part) for part in command], stdout=log, stderr=subprocess.STDOUT, env=environment
        )
        try:
            wait_until_serving(port)
            trigger_engine(port, demo_database)
            wait_for_batch_jobs(demo_database, timeout=300)
        finally:
            server.terminate()
            server.wait(timeout=60)
    batch_jobs = query(
        demo_database,
        "SELECT state, result FROM queue_job WHERE method_name = '_job_run_due_batch' ORDER BY id",
    )
    assert [state for state, _result in batch_jobs] == ["done"], (
        f"{batch_jobs}\n{(tmp_path / 'odoo.log').read_text()[-4000:]}"
    )
    events_after = query(
        demo_database, "SELECT count(*) FROM collection_event WHERE enrollment_id = %s", (enrollment_id,)
    )[0][0]
    assert events_after > events_before, "the job ran the collection's next stage"


def test_uninstall_removes_everything(demo_database_copy):
    demo_database = demo_database_copy
    uninstall_module(demo_database, ADDON)
    assert query(demo_database, "SELECT state FROM ir_module_module WHERE name = %s", (ADDON,)) == [
        ("uninstalled",)
    ]
    assert query(
        demo_database, "SELECT to_regclass('collection_process'), to_regclass('collection_stage')"
    ) == [(None, None)]
    assert query(demo_database, "SELECT count(*) FROM ir_model WHERE model LIKE 'collection.%%'") == [(0,)]
    assert query(demo_database, "SELECT count(*) FROM ir_ui_menu WHERE name->>'en_US' = 'Collections'") == [
        (0,)
    ]
    assert query(
        demo_database, "SELECT count(*) FROM spreadsheet_dashboard WHERE name->>'en_US' = 'Collections'"
    ) == [(0,)], "the dashboard goes with its bridge"
