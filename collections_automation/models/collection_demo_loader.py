from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain

# Demo invoices overdue by this many days are not in collections yet: no
# process's grace period has passed, and the manual's first step (an
# invoice's *Action > Start collections*) starts one by hand.
JUST_OVERDUE_DAYS = 1
# Each demo customer gets three invoices; the scenarios cycle so that every
# state a collections team meets is present. ``due_in`` is days from today to
# the due date (negative: overdue); ``paid`` is the share already paid.
DEMO_SCENARIOS = (
    {"due_in": -60, "paid": 1.0},
    {"due_in": 3, "paid": 0.0},
    {"due_in": -5, "paid": 0.0},
    {"due_in": -20, "paid": 0.0},
    {"due_in": -45, "paid": 0.0},
    {"due_in": -90, "paid": 0.0},
    {"due_in": -30, "paid": 0.4},
    {"due_in": 12, "paid": 0.0},
    {"due_in": -10, "paid": 1.0},
    {"due_in": -JUST_OVERDUE_DAYS, "paid": 0.0},
)
DEMO_INVOICES_PER_CUSTOMER = 3
# Typical invoice size per customer segment (tag XML id), smallest first.
DEMO_AMOUNTS = {
    "collections_automation.res_partner_category_retail_demo": (180.0, 1450.0),
    "collections_automation.res_partner_category_wholesale_demo": (2100.0, 11800.0),
    "collections_automation.res_partner_category_key_demo": (14500.0, 58000.0),
}
# Demo invoices overdue by this many days or more have been escalated.
DEMO_ESCALATED_AFTER_DAYS = 60
# One running demo collection in this many is paid in full after its first reminder.
DEMO_PAID_AFTER_REMINDER_EVERY = 3
# How many days before today those collections began, in turn: they were
# enrolled and reminded then and pay today, so that the KPI screen shows the
# days a collection takes and the cash each stage brought in.
DEMO_DAYS_TO_PAY = (4, 9, 6, 13, 3, 8)
DEMO_LINES = ("Consulting services", "Product delivery", "Maintenance contract", "Spare parts")


class CollectionDemoLoader(models.AbstractModel):
    _name = "collection.demo.loader"
    _description = "Collections demo data loader"

    @api.model
    def _get_demo_customers(self):
        data = self.env["ir.model.data"].search(
            [
                ("module", "=", "collections_automation"),
                ("model", "=", "res.partner"),
                ("name", "=like", "res_partner_%_demo"),
            ],
            order="id",
        )
        return self.env["res.partner"].browse(data.mapped("res_id"))

    @api.model
    def _get_demo_amount_range(self, partner):
        """(smallest, largest) invoice of ``partner``'s segment."""
        tags = partner.category_id
        return next(
            (bounds for xml_id, bounds in DEMO_AMOUNTS.items() if self.env.ref(xml_id) in tags),
            (500.0, 5000.0),
        )

    @api.model
    def _prepare_demo_invoice_values(self, partner, index, scenario, amount):
        today = fields.Date.context_today(self)
        due_date = today + timedelta(days=scenario["due_in"])
        term_days = max(partner.property_payment_term_id.line_ids.mapped("nb_days") or [0])
        invoice_date = min(today, due_date - timedelta(days=term_days))
        return {
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "invoice_date": invoice_date,
            "invoice_payment_term_id": partner.property_payment_term_id.id,
            "invoice_line_ids": [
                fields.Command.create(
                    {
                        "name": DEMO_LINES[index % len(DEMO_LINES)],
                        "quantity": 1,
                        "price_unit": amount,
                        "tax_ids": [],
                    }
                )
            ],
        }

    @api.model
    def _load_demo_invoices(self):
        """Create posted customer invoices dated relative to today."""
        invoice_specs = []
        for partner_index, partner in enumerate(self._get_demo_customers()):
            low, high = self._get_demo_amount_range(partner)
            for rank in range(DEMO_INVOICES_PER_CUSTOMER):
                index = partner_index * DEMO_INVOICES_PER_CUSTOMER + rank
                scenario = DEMO_SCENARIOS[index % len(DEMO_SCENARIOS)]
                # A deterministic spread keeps the demo the same on every install.
                amount = round(low + (high - low) * ((index * 37) % 100) / 100.0, -1)
                invoice_specs.append((partner, index, scenario, amount))
        invoices = self.env["account.move"].create(
            [self._prepare_demo_invoice_values(*spec) for spec in invoice_specs]
        )
        invoices.action_post()
        for invoice, (_partner, _index, scenario, _amount) in zip(invoices, invoice_specs, strict=True):
            if scenario["paid"]:
                self._register_demo_payment(invoice, scenario["paid"])
        return invoices

    @api.model
    def _enable_demo_payment_provider(self):
        """With Odoo's demo payment provider installed (``make run`` installs
        it), a person trying the add-on walks the whole path: reminder,
        page, pay, invoice paid. It is enabled in test mode, as a demo."""
        provider = self.env.ref("payment.payment_provider_demo", raise_if_not_found=False)
        if provider and provider.state == "disabled":
            provider.write({"state": "test", "is_published": True})
        return provider

    @api.model
    def _load_demo_collections(self):
        """Enroll the demo customers' open invoices that are due or overdue,
        but those just overdue, by segment rules, then run the engine once
        and compute the KPI trends."""
        today = fields.Date.context_today(self)
        Move = self.env["account.move"]
        invoices = Move.search(
            Move._get_collectable_domain()
            & Domain("partner_id", "in", self._get_demo_customers().ids)
            & Domain("invoice_date_due", "<=", today + timedelta(days=3))
            & Domain("invoice_date_due", "!=", today - timedelta(days=JUST_OVERDUE_DAYS))
        )
        enrollments = invoices.collection_enroll(strict=True)
        self.env["collection.engine"]._cron_run()
        self._escalate_demo_history(enrollments)
        self._pay_demo_collections(enrollments)
        self._promise_and_dispute_demo_collections(enrollments)
        # The Dashboards app and the KPI screen's trends show them from the start.
        if enrollments:
            self.env["collection.kpi.period"]._refresh(enrollments.company_id)
        return enrollments

    @api.model
    def _escalate_demo_history(self, enrollments):
        """The demo starts today, but its oldest invoices have a history: two
        months overdue, their final notice went out weeks ago and its
        deadline passed, so they stand escalated on the desk."""
        today = fields.Date.context_today(self)
        ladder_done = enrollments.filtered(
            lambda enrollment: enrollment.state == "running"
            and not enrollment.next_stage_id
            and enrollment.due_date <= today - timedelta(days=DEMO_ESCALATED_AFTER_DAYS)
        )
        self.env["collection.stage.action.escalation"]._escalate(
            [(self.env["collection.stage"], ladder_done)]
        )

    @api.model
    def _pay_demo_collections(self, enrollments):
        """Some customers pay after the first reminder, so that the KPI
        screen and the analysis show cash collected and paid collections:
        their collection began some days ago, when its stage ran, and the
        payment comes today."""
        today = fields.Date.context_today(self)
        reminded = enrollments.filtered(
            lambda enrollment: enrollment.state == "running" and enrollment.stage_id
        )
        movable = [
            (enrollment, most)
            for enrollment in reminded.sorted("id")
            if (most := self._get_demo_days_back(enrollment, max(DEMO_DAYS_TO_PAY))) >= min(DEMO_DAYS_TO_PAY)
        ]
        for index, (enrollment, most) in enumerate(movable[::DEMO_PAID_AFTER_REMINDER_EVERY]):
            self._move_demo_collection_back(
                enrollment, min(DEMO_DAYS_TO_PAY[index % len(DEMO_DAYS_TO_PAY)], most)
            )
            self._register_demo_payment(enrollment.move_id, 1.0, payment_date=today)

    @api.model
    def _promise_and_dispute_demo_collections(self, enrollments):
        """One customer promised to pay within a week, another disputes the
        amount, as customers do from the payment page: the desk, the
        timeline and the dashboards show both."""
        reminded = enrollments.filtered(
            lambda enrollment: enrollment.state == "running" and enrollment.stage_id
        ).sorted("id", reverse=True)
        promising = reminded._filter_allowing("allow_promise")[:1]
        if promising:
            first_day, last_day = promising._get_promise_date_limits()
            promising.action_promise_to_pay(
                min(first_day + timedelta(days=6), last_day), promising.amount_residual
            )
        disputing = (reminded - promising)._filter_allowing("allow_dispute")[:1]
        if disputing:
            disputing.action_dispute(
                "wrong_amount", "The discount we agreed on is missing from this invoice."
            )

    @api.model
    def _get_demo_days_back(self, enrollment, wanted):
        """The most days, up to ``wanted``, that ``enrollment``'s story (enrolled
        and its first stage run today) can move back and still be the one
        the engine would have written then: the same stage due on that day."""
        today = enrollment._company_today()
        for days_back in range(wanted, 0, -1):
            day = today - timedelta(days=days_back)
            stage, stage_day, _skipped = enrollment.process_id._plan_next_stage(
                enrollment.due_date, day, self.env["collection.stage"], False, day
            )
            if stage == enrollment.stage_id and stage_day <= day:
                return days_back
        return 0

    @api.model
    def _move_demo_collection_back(self, enrollment, days_back):
        """Date ``enrollment``'s story ``days_back`` days earlier: the day it
        began, its events and the messages of its chatter."""
        if not days_back:
            return
        shift = timedelta(days=days_back)
        enrollment.write(
            {
                "enrolled_on": enrollment.enrolled_on - shift,
                "last_action_date": enrollment.last_action_date and enrollment.last_action_date - shift,
            }
        )
        for event in enrollment.event_ids:
            event.date -= shift
        messages = enrollment.message_ids | enrollment.event_ids.mail_message_id
        for message in messages:
            message.date -= shift

    @api.model
    def _register_demo_payment(self, invoice, share, payment_date=None):
        """Pay ``share`` of the invoice, by default two days before it fell
        due (or today, if sooner)."""
        if not payment_date:
            today = fields.Date.context_today(self)
            payment_date = min(today, invoice.invoice_date_due - timedelta(days=2))
            payment_date = max(payment_date, invoice.invoice_date)
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "amount": invoice.currency_id.round(invoice.amount_total * share),
                    "payment_date": payment_date,
                    "payment_difference_handling": "open",
                }
            )
        )
        wizard.action_create_payments()

    @api.model
    def _print_demo_letters_again(self, report_url):
        """Print the demo's letters again, their styles fetched from the web
        server at ``report_url``: the letters printed while Odoo installed
        the demo have none, since wkhtmltopdf fetches the styles from a web
        server, and none runs during an installation."""
        params = self.env["ir.config_parameter"].sudo()
        previous = params.get_param("report.url")
        params.set_param("report.url", report_url)
        try:
            events = self.env["collection.event"].search(
                [
                    ("action", "in", ("email", "letter")),
                    ("mail_message_id", "!=", False),
                    ("enrollment_id.partner_id", "in", self._get_demo_customers().ids),
                ]
            )
            Letter = self.env["collection.stage.action.letter"]
            printed = 0
            for message, message_events in events.grouped("mail_message_id").items():
                letter = message.attachment_ids.filtered(lambda a: a.mimetype == "application/pdf")[:1]
                if letter:
                    group = message_events.enrollment_id.sorted("id")
                    letter.raw = Letter._render_letter(message_events.stage_id[:1], group)[1]
                    printed += 1
            return printed
        finally:
            params.set_param("report.url", previous or False)
