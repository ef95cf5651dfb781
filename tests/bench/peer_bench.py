"""End-to-end benchmark against OCA's account_credit_control (``make bench-peer``).

What a team lives through each day: invoices fall overdue, and the
scheduled work turns them into queued reminders. ``setup`` grows a database
holding both add-ons to N overdue invoices of M customers, none of them in
collections yet, with the same two-step ladder configured on each side:

- ours: a process that enrolls overdue invoices (no grace period), a
  reminder one day after the due date, a second one 15 days later;
- OCA: a policy on the receivable account, level 1 one day after the due
  date, level 2 15 days after the previous reminder, both by email, with
  OCA's email template less its PDF attachment (ours attach none).

``ours``, ``ours-escalating`` and ``oca`` each time, in a fresh process on
their own copy of that database, what the scheduled work does on the first
day (``ours-escalating``: the process has one stage and escalates at once, so
the run reminds and escalates every invoice):

- ours: one engine run (``collection.engine._cron_run``: enrollment by the
  trigger, then the first reminder of every invoice);
- OCA: a credit control run as its menu does it: generate the lines, mark
  them ready, run the channel action (one communication per customer and
  level, one email each).

Each prints its figures as JSON. ``tools/devenv.py bench-peer`` builds the
dataset, copies it and runs both; ``tools/devenv.py bench`` runs ours alone,
on a database without OCA's add-on, beside ``floor`` (``floor_bench.py``):
the same rows created bare through the ORM.
"""

from datetime import timedelta

# Run as a script from tests/bench: the engine benchmark's helpers sit beside it.
from engine_bench import grow_customers, grow_invoices, measured, run_command
from floor_bench import made_messages, run_floor, timed_phases

import odoo
from odoo.fields import Command

ADDON = "collections_automation"
PEER = "account_credit_control"
PROCESS_NAME = "Peer benchmark"
POLICY_NAME = "Peer benchmark"
OVERDUE_DAYS = 10
SECOND_REMINDER_DAYS = 15


def ensure_our_process(env):
    company = env.company
    # One email per invoice on any day: no contact cap, no quiet days.
    company.write(
        {
            "collection_auto_enroll": True,
            "collection_contact_max_per_day": 0,
            "collection_contact_max_per_week": 0,
            "collection_quiet_days": False,
        }
    )
    process = env["collection.process"].search([("name", "=", PROCESS_NAME)], limit=1)
    if not process:
        process = create_our_process(env)
    # Every invoice goes to this process, as with no segment rule.
    company.collection_default_process_id = process
    return process


def create_our_process(env):
    template = env.ref(f"{ADDON}.mail_template_overdue")
    return env["collection.process"].create(
        {
            "name": PROCESS_NAME,
            "auto_enroll_overdue": True,
            "grace_days": 0,
            "stage_ids": [
                Command.create(
                    {
                        "name": "Reminder",
                        "delay_days": 1,
                        "delay_from": "due_date",
                        "send_email": True,
                        "mail_template_id": template.id,
                    }
                ),
                Command.create(
                    {
                        "name": "Second reminder",
                        "delay_days": SECOND_REMINDER_DAYS,
                        "delay_from": "previous_stage",
                        "send_email": True,
                        "mail_template_id": template.id,
                    }
                ),
            ],
        }
    )


def ensure_peer_policy(env):
    company = env.company
    policy = env["credit.control.policy"].search([("name", "=", POLICY_NAME)], limit=1)
    if not policy:
        # OCA's email without the PDF summary it attaches by default: our
        # reminders carry no PDF either, so both sides render an email body.
        template = env.ref(f"{PEER}.email_template_credit_control_base").copy(
            {"name": POLICY_NAME, "report_template_ids": [Command.clear()]}
        )
        receivable = env["account.account"].search(
            [("account_type", "=", "asset_receivable"), ("company_ids", "in", company.ids)]
        )
        level = {
            "channel": "email",
            "email_template_id": template.id,
            "custom_text": "Our records show an open amount.",
            "custom_mail_text": "<p>Our records show an open amount.</p>",
        }
        policy = env["credit.control.policy"].create(
            {
                "name": POLICY_NAME,
                "account_ids": [Command.set(receivable.ids)],
                "level_ids": [
                    Command.create(
                        dict(level, name="Reminder", level=1, computation_mode="net_days", delay_days=1)
                    ),
                    Command.create(
                        dict(
                            level,
                            name="Second reminder",
                            level=2,
                            computation_mode="previous_date",
                            delay_days=SECOND_REMINDER_DAYS,
                        )
                    ),
                ],
            }
        )
    company.credit_policy_id = policy
    return policy


def grow(env, invoices, customers):
    """Add customers and overdue invoices, none in collections, up to the
    asked totals."""
    company = env.company
    if not company.chart_template:
        env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)
    ensure_our_process(env)
    # make bench times our side alone, without OCA's add-on.
    if env["ir.module.module"].search_count([("name", "=", PEER), ("state", "=", "installed")]):
        ensure_peer_policy(env)
    env.cr.commit()
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    due = odoo.fields.Date.context_today(env["account.move"]) - timedelta(days=OVERDUE_DAYS)
    count = grow_invoices(
        env, grow_customers(env, "PEER", customers), invoices, due - timedelta(days=30), due
    )
    # A server in service has planner statistics (autovacuum): so does the bench.
    env.cr.execute("ANALYZE")
    env.cr.commit()
    return count


OVERDUE_INVOICES = [
    ("move_type", "=", "out_invoice"),
    ("state", "=", "posted"),
    ("partner_id.ref", "=like", "PEER-%"),
]


def overdue_invoices(env):
    return env["account.move"].search_count(OVERDUE_INVOICES)


def run_ours_escalating(env):
    """The same run with a one-stage process that escalates at once: the
    reminder, then the escalation (an activity for the responsible, a tag
    on the customer) of every invoice, in one engine run."""
    process = env["collection.process"].search([("name", "=", PROCESS_NAME)], limit=1)
    process.stage_ids.sorted("sequence")[1:].unlink()
    process.write(
        {
            "escalation_delay_days": 0,
            "user_id": env.ref("base.user_admin").id,
            "escalation_activity_type_id": env.ref("mail.mail_activity_data_todo").id,
            "escalation_tag_ids": [Command.create({"name": "Escalated (benchmark)"})],
        }
    )
    env.cr.commit()
    figures = run_ours(env)
    figures["escalations"] = env["collection.enrollment"].search_count([("state", "=", "escalated")])
    return figures


def run_ours(env):
    invoices = overdue_invoices(env)
    mails_before = env["mail.mail"].search_count([])
    engine = env["collection.engine"].with_context(cron_id=-1)
    with timed_phases(env) as phases:
        figures = measured(env, engine._cron_run)
    return {
        "invoices": invoices,
        "phases": {phase: round(seconds, 2) for phase, seconds in phases.items()},
        "enrollments": env["collection.enrollment"].search_count([]),
        "events": env["collection.event"].search_count([]),
        **made_messages(env, "collection.enrollment"),
        "reminders": env["collection.event"].search_count(
            [("action", "=", "email"), ("outcome", "=", "done")]
        ),
        "emails_queued": env["mail.mail"].search_count([]) - mails_before,
        **figures,
    }


def run_our_floor(env):
    """The framework's floor for ours: the rows of our run, created bare
    (``floor_bench.py``)."""
    process = env["collection.process"].search([("name", "=", PROCESS_NAME)], limit=1)
    invoices = env["account.move"].search(OVERDUE_INVOICES, order="invoice_date_due, id")
    return {"invoices": len(invoices), **run_floor(env, process, invoices)}


def run_oca(env):
    invoices = overdue_invoices(env)
    mails_before = env["mail.mail"].search_count([])
    today = odoo.fields.Date.context_today(env["credit.control.run"])

    def credit_control_run():
        run = env["credit.control.run"].create({"date": today})
        run.generate_credit_lines()
        run.set_to_ready_lines()
        run.run_channel_action()

    figures = measured(env, credit_control_run)
    return {
        "invoices": invoices,
        "credit_lines": env["credit.control.line"].search_count([]),
        "communications": env["credit.control.communication"].search_count([]),
        "emails_queued": env["mail.mail"].search_count([]) - mails_before,
        "version": env["ir.module.module"].search([("name", "=", PEER)]).installed_version,
        **figures,
    }


def main():
    run_command(
        __doc__.splitlines()[0],
        {
            "setup": lambda env, args: {"invoices": grow(env, args.invoices, args.customers)},
            "ours": lambda env, _args: run_ours(env),
            "ours-escalating": lambda env, _args: run_ours_escalating(env),
            "floor": lambda env, _args: run_our_floor(env),
            "oca": lambda env, _args: run_oca(env),
        },
    )


if __name__ == "__main__":
    main()
