"""The framework's floor for the engine's end-to-end run (``make bench``).

What any add-on that keeps Odoo's ORM and its HTML sanitizer must pay for a
first reminder: the bare creation, through the ORM and in committed batches,
of the rows the engine's run makes for each overdue invoice, with no logic
at all. On its own copy of the end-to-end database (``peer_bench.py``'s),
the floor creates for each invoice a collection and its two events (enrolled,
email), the chatter message with the reminder's body (sanitized by
``mail.message``), the outgoing mail with the body in the company's layout
and the notification of the customer: the same rows as the engine's run, the
same bodies (the engine's own rendering of the first invoice's reminder,
rolled back), in batches of the engine's size, each committed.

The collection and its events are stand-ins, custom models with the fields
the engine gives them and nothing else: no computed field, no constraint, no
number from a sequence, no once-only key. What the engine does beyond them
(finding the invoices, choosing the process, rendering each email, planning
the next stage, checking companies and keys) is what the ratio of the two
runs measures.
"""

import time
from contextlib import contextmanager
from unittest.mock import patch

from engine_bench import measured

import odoo

FLOOR_COLLECTION = "x_collections_floor_collection"
FLOOR_EVENT = "x_collections_floor_event"

# (field, type, comodel): what the engine writes on a new collection
# (account.move._prepare_collection_enrollment_values, then the plan of its
# first stage) and on its events (collection.enrollment._prepare_event_values).
COLLECTION_FIELDS = (
    ("x_name", "char", None),
    ("x_move_id", "many2one", "account.move"),
    ("x_partner_id", "many2one", "res.partner"),
    ("x_company_id", "many2one", "res.company"),
    ("x_process_id", "many2one", "collection.process"),
    ("x_segment_rule_id", "many2one", "collection.segment.rule"),
    ("x_currency_id", "many2one", "res.currency"),
    ("x_amount_due_at_enrollment", "float", None),
    ("x_late_charges_before", "float", None),
    ("x_amount_residual", "float", None),
    ("x_due_date", "date", None),
    ("x_reference", "char", None),
    ("x_enrolled_on", "date", None),
    ("x_state", "char", None),
    ("x_stage_id", "many2one", "collection.stage"),
    ("x_next_stage_id", "many2one", "collection.stage"),
    ("x_next_action_date", "date", None),
)
EVENT_FIELDS = (
    ("x_collection_id", "many2one", FLOOR_COLLECTION),
    ("x_action", "char", None),
    ("x_stage_id", "many2one", "collection.stage"),
    ("x_amount", "float", None),
    ("x_message", "char", None),
    ("x_key", "char", None),
    ("x_mail_message_id", "many2one", "mail.message"),
)


def create_stand_in_models(env):
    Model = env["ir.model"]

    def create(model, fields, mail_thread=False):
        Model.create(
            {
                "name": model,
                "model": model,
                "is_mail_thread": mail_thread,
                "field_id": [
                    (0, 0, {"name": name, "field_description": name, "ttype": ttype, "relation": comodel})
                    for name, ttype, comodel in fields
                ],
            }
        )

    # The collection is a chatter record, as the engine's is.
    create(FLOOR_COLLECTION, COLLECTION_FIELDS, mail_thread=True)
    create(FLOOR_EVENT, EVENT_FIELDS)
    env.cr.commit()


def sample_reminder(env, invoice, process):
    """(payload, outgoing body): the first reminder of ``invoice`` in
    ``process`` as the engine renders it, its collection rolled back."""
    stage = process.stage_ids.sorted("sequence")[0]
    Email = env["collection.stage.action.email"]
    savepoint = env.cr.savepoint()
    try:
        enrollment = invoice.collection_enroll(process_id=process.id)
        [values] = Email._render_emails([(stage, enrollment)])
        payload = Email._prepare_email_values(stage, enrollment, values)
        [mail_body] = env["collection.mail.batch"]._wrap_in_layouts(
            [stage.mail_template_id], [enrollment], [payload["body"]], Email._prepare_layout_context
        )
    finally:
        savepoint.close(rollback=True)
        env.invalidate_all()
    return {key: str(value) if value else value for key, value in payload.items()}, str(mail_body)


def create_reminders(env, invoices, process, payload, mail_body, today):
    """The rows of one batch of first reminders, through the ORM."""
    first, second = process.stage_ids.sorted("sequence")[:2]
    collections = (
        env[FLOOR_COLLECTION]
        .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
        .create(
            [
                {
                    "x_name": f"FLOOR/{invoice.id}",
                    "x_move_id": invoice.id,
                    "x_partner_id": invoice.commercial_partner_id.id,
                    "x_company_id": invoice.company_id.id,
                    "x_process_id": process.id,
                    "x_currency_id": invoice.currency_id.id,
                    "x_amount_due_at_enrollment": invoice.amount_residual,
                    "x_late_charges_before": 0.0,
                    "x_amount_residual": invoice.amount_residual,
                    "x_due_date": invoice.invoice_date_due,
                    "x_reference": invoice.name,
                    "x_enrolled_on": today,
                    "x_state": "running",
                    "x_stage_id": first.id,
                    "x_next_stage_id": second.id,
                    "x_next_action_date": today,
                }
                for invoice in invoices
            ]
        )
    )
    payloads = [dict(payload, partner_ids=collection.x_partner_id.ids) for collection in collections]
    subtype = env.ref("collections_automation.mail_message_subtype_collection_reminder")
    messages = env["collection.mail.batch"]._post_emails(
        collections, payloads, [mail_body] * len(collections), {}, subtype
    )
    env[FLOOR_EVENT].create(
        [
            event
            for collection, message in zip(collections, messages, strict=True)
            for event in (
                {
                    "x_collection_id": collection.id,
                    "x_action": "enrolled",
                    "x_amount": collection.x_amount_due_at_enrollment,
                    "x_message": f"Enrolled in {process.name}",
                },
                {
                    "x_collection_id": collection.id,
                    "x_action": "email",
                    "x_stage_id": first.id,
                    "x_key": f"{collection.id}:{first.id}:0:email",
                    "x_mail_message_id": message.id,
                },
            )
        ]
    )


def made_messages(env, model):
    """The chatter messages on ``model``'s records and their notifications."""
    return {
        "messages": env["mail.message"].search_count([("model", "=", model)]),
        "notifications": env["mail.notification"].search_count([("mail_message_id.model", "=", model)]),
    }


def run_floor(env, process, invoices):
    """Time the floor for ``invoices``, batch after batch, each committed."""
    create_stand_in_models(env)
    payload, mail_body = sample_reminder(env, invoices[0], process)
    today = odoo.fields.Date.context_today(process)

    batch = env["collection.engine"]._get_batch_size()

    def create_all():
        for start in range(0, len(invoices), batch):
            create_reminders(env, invoices[start : start + batch], process, payload, mail_body, today)
            env.cr.commit()

    return {
        **measured(env, create_all),
        "collections": env[FLOOR_COLLECTION].search_count([]),
        "events": env[FLOOR_EVENT].search_count([]),
        **made_messages(env, FLOOR_COLLECTION),
        "emails_queued": env["mail.mail"].search_count([("model", "=", FLOOR_COLLECTION)]),
    }


# Where the engine's end-to-end run spends its time, beside the floor: the
# part of the run, and the methods (model, method) whose calls it adds up.
# The rows the floor also makes are apart; the engine's own work is the rest.
ENGINE_PHASES = (
    (
        "enrolling: finding the invoices, the collections and their first events",
        (("collection.engine", "_auto_enroll"),),
    ),
    (
        "taking each batch",
        (("collection.engine", "_take_due_batch"),),
    ),
    (
        "rendering the emails and their layout",
        (("collection.stage.action.email", "_render_emails"), ("collection.mail.batch", "_wrap_in_layouts")),
    ),
    ("the messages, mails and notifications (the floor's too)", (("collection.mail.batch", "_post_emails"),)),
    ("the email events (once-only keys)", (("collection.stage.action.email", "_claim"),)),
    ("planning the next stage", (("collection.engine", "_advance_many"),)),
    (
        "each batch's other work (languages, contact policy, tokens, flush)",
        (("collection.engine", "_run_batch"),),
    ),
    (
        "committing each chunk of new collections (their stored computed fields flushed) and each batch",
        (("ir.cron", "_commit_progress"),),
    ),
)


@contextmanager
def timed_phases(env):
    """Within the block, the seconds spent in each of ENGINE_PHASES, as
    {phase: seconds} filled in when it ends; a phase's time leaves out the
    time of the phases it calls."""
    seconds = dict.fromkeys((phase for phase, _methods in ENGINE_PHASES), 0.0)
    stack = []

    def timed(phase, method):
        def wrapper(*args, **kwargs):
            stack.append(0.0)
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                inner = stack.pop()
                seconds[phase] += spent - inner
                if stack:
                    stack[-1] += spent

        return wrapper

    patches = [
        patch.object(type(env[model]), name, timed(phase, getattr(type(env[model]), name)))
        for phase, methods in ENGINE_PHASES
        for model, name in methods
    ]
    for method_patch in patches:
        method_patch.start()
    try:
        yield seconds
    finally:
        for method_patch in patches:
            method_patch.stop()
