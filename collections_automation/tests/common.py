import importlib.util
import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields, sql_db
from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.tests import HttpCase, new_test_user
from odoo.tests import common as odoo_tests_common

ADDON = "collections_automation"
# A Monday: weekday arithmetic in tests reads naturally from here.
DAY_0 = date(2026, 3, 2)
# One shipped template per kind of stage, as an email and, with the SMS
# bridge, as an SMS (xml ids mail_template_<kind> and sms_template_<kind>).
TEMPLATE_KINDS = frozenset(
    {
        "friendly_reminder",
        "due_today",
        "overdue",
        "final_notice",
        "update_payment_method",
        "promise_confirmation",
        "dispute_received",
        "dispute_resolved",
    }
)

# The languages every module ships a complete translation of.
TRANSLATED_LANGUAGES = ("fr_FR", "de_DE", "es_ES", "nl_NL")


# Odoo waits 10 s for a new Chromium to open its devtools port. On a busy
# two-core machine its first start has taken longer (CI, 2026-12-02), and
# Odoo then skips the tour; a minute is slow but never a missing test.
CHROMIUM_START_SECONDS = 60


def load_migration(version, step, addon=ADDON):
    """The module of ``addon``'s ``step`` migration script (pre-migrate,
    post-migrate) to ``version``, to run on a test database."""
    path = Path(__file__).parents[2] / addon / "migrations" / version / f"{step}.py"
    spec = importlib.util.spec_from_file_location(
        f"{addon}_{step}_{version}".replace(".", "_").replace("-", "_"), path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def register_payment(invoice, amount, day):
    """Pay ``amount`` of ``invoice`` on ``day`` in its currency, as a user
    does: through Odoo's register-payment wizard, in the invoice's company."""
    return (
        invoice.env["account.payment.register"]
        .with_company(invoice.company_id)
        .with_context(active_model="account.move", active_ids=invoice.ids)
        .create({"amount": amount, "payment_date": day, "currency_id": invoice.currency_id.id})
        ._create_payments()
    )


class ChromiumCase(HttpCase):
    """An HTTP case whose tours wait for a slow Chromium to start."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        iterations = round(CHROMIUM_START_SECONDS / odoo_tests_common.CHECK_BROWSER_SLEEP)
        cls.startClassPatcher(patch.object(odoo_tests_common, "CHECK_BROWSER_ITERATIONS", iterations))

    @classmethod
    def _tour_user(cls, login, groups):
        """A user of the company whose password is its login, to log in to a tour."""
        return new_test_user(
            cls.env,
            login=login,
            password=login,
            groups=groups,
            company_id=cls.env.company.id,
            company_ids=cls.env.company.ids,
        )


def frozen_clock(moment):
    """The patchers that set Python's clock to ``moment`` (naive UTC) and let
    it tick from there, and every database cursor's ``now()`` with it, for
    tests whose work spans requests or transactions (test cursors read
    Python's clock)."""
    return (
        freeze_time(moment, tick=True),
        patch.object(sql_db.Cursor, "now", lambda _cursor: datetime.now()),
    )


def days(count):
    """The day ``count`` days after DAY_0."""
    return DAY_0 + timedelta(days=count)


class CollectionsCommon(AccountTestInvoicingCommon):
    """Fixtures shared by the add-on's tests: a company with a chart of
    accounts (from AccountTestInvoicingCommon), an invoicing user, who is a
    collections user through Accounting's groups, an accounting
    administrator, who is a collections manager, and a three-stage process."""

    @classmethod
    def default_env_context(cls):
        """Odoo's test bases turn the chatter's tracking, creation notes and
        automatic followers off; the engine runs with them on, and pays for
        them: so do the tests."""
        return {"no_reset_password": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        company.partner_id.tz = "Europe/Brussels"
        # The contact policy (caps, quiet days) has tests of its own and runs
        # in the simulation; the other tests count plain calendar days.
        company.write(
            {
                "collection_contact_max_per_day": 0,
                "collection_contact_max_per_week": 0,
                "collection_quiet_days": False,
            }
        )
        cls.collections_user = new_test_user(
            cls.env,
            login="collections_user",
            password="collections_user",
            groups="account.group_account_invoice",
            company_id=company.id,
            company_ids=company.ids,
        )
        cls.collections_manager = new_test_user(
            cls.env,
            login="collections_manager",
            groups="account.group_account_manager",
            company_id=company.id,
            company_ids=company.ids,
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Slow Payer Ltd", "email": "ap@slowpayer.example.com", "phone": "+32 470 00 00 01"}
        )
        cls.escalation_tag = cls.env["res.partner.category"].create({"name": "Escalated to collections"})
        cls.standard_process = cls._create_standard_process()
        cls.reminder_stage, cls.call_stage, cls.final_stage = cls.standard_process.stage_ids.sorted(
            "sequence"
        )

    @classmethod
    def _create_standard_process(cls):
        """Reminder three days after the due date, a call seven days later,
        a final notice with its letter on day 30; it escalates to the
        collections manager, tags the customer and marks a bad debtor."""
        return cls.env["collection.process"].create(
            {
                "name": "Standard",
                "user_id": cls.collections_manager.id,
                "escalation_activity_type_id": cls.env.ref("mail.mail_activity_data_todo").id,
                "escalation_tag_ids": [fields.Command.link(cls.escalation_tag.id)],
                "escalation_set_bad_debtor": True,
                "stage_ids": [
                    fields.Command.create(cls._prepare_reminder_stage_values()),
                    fields.Command.create(
                        {
                            "name": "Call",
                            "sequence": 2,
                            "delay_days": 7,
                            "delay_from": "previous_stage",
                            "create_activity": True,
                            "activity_summary": "Call the customer",
                        }
                    ),
                    fields.Command.create(
                        {
                            "name": "Final notice",
                            "sequence": 3,
                            "delay_days": 30,
                            "delay_from": "due_date",
                            "send_email": True,
                            "attach_letter": True,
                            "mail_template_id": cls.env.ref(f"{ADDON}.mail_template_final_notice").id,
                        }
                    ),
                ],
            }
        )

    @classmethod
    def _prepare_reminder_stage_values(cls):
        """The first stage of the standard process: an email three days
        after the due date."""
        return {
            "name": "Reminder",
            "sequence": 1,
            "delay_days": 3,
            "delay_from": "due_date",
            "send_email": True,
            "mail_template_id": cls.env.ref(f"{ADDON}.mail_template_overdue").id,
        }

    @contextmanager
    def _spy(self, model_class, method_name):
        """Record the first argument of each call of ``method_name``."""
        calls = []
        original = getattr(model_class, method_name)

        def spy(model_self, *args, **kwargs):
            calls.append(args[0] if args else None)
            return original(model_self, *args, **kwargs)

        with patch.object(model_class, method_name, spy):
            yield calls

    def _promised_enrollment(self, partner=None):
        """A collection of an invoice of 1,234 whose customer promised on
        DAY_0 to pay it five days later: every template has what it shows."""
        invoice = self._create_invoice(amount=1234.0, partner=partner)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_promise_to_pay(DAY_0 + timedelta(days=5), 1234.0)
        return enrollment

    @classmethod
    def _load_translations(cls, modules, languages=TRANSLATED_LANGUAGES):
        """Activate ``languages`` and load the modules' own .po files in them
        (Odoo's base translations are not needed to check ours)."""
        for language in languages:
            cls.env["res.lang"]._activate_lang(language)
        cls.env["ir.module.module"]._load_module_terms(list(modules), list(languages), overwrite=True)

    @staticmethod
    def _template_sentences(source):
        """The words a template writes itself, between its placeholders:
        what a translation must have replaced."""
        text = re.sub(r"\{\{.*?\}\}|<[^>]+>|&\w+;", "\n", source, flags=re.DOTALL)
        return {fragment.strip(" .,:;()") for fragment in text.split("\n")} - {""}

    @classmethod
    def _company_today(cls):
        """Today on the company's calendar, the one the add-on counts
        collection days on (tests without a frozen clock use it)."""
        return cls.env.company._get_collection_today()

    @classmethod
    def _create_invoice(cls, amount=1000.0, due_date=DAY_0, partner=None, post=True, **values):
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": (partner or cls.customer).id,
                "invoice_date": due_date - timedelta(days=30),
                "invoice_date_due": due_date,
                "invoice_line_ids": [
                    fields.Command.create({"name": "Services", "price_unit": amount, "tax_ids": []})
                ],
                **values,
            }
        )
        if post:
            invoice.action_post()
        return invoice

    @classmethod
    def _prepare_demo_provider(cls, company):
        Provider = cls.env["payment.provider"]
        provider = Provider.search([("code", "=", "demo"), ("company_id", "=", company.id)], limit=1)
        if not provider:
            provider = cls.env.ref("payment.payment_provider_demo").copy({"company_id": company.id})
        provider.write({"state": "test", "is_published": True})
        return provider

    def _demo_card(self, simulated_state=None):
        """A card of the customer saved with the demo provider; charging it
        ends in ``simulated_state``."""
        return self.env["payment.token"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "partner_id": self.customer.id,
                "provider_ref": "demo",
                "payment_details": "4242",
                "demo_simulated_state": simulated_state,
            }
        )

    @classmethod
    def _freeze_class_clock(cls, moment):
        """Python's clock from ``moment`` (naive UTC) on, ticking, and the
        database cursor's ``now()`` with it, for the fixtures and every test
        of the class: the pages its HTTP server renders count from that day,
        whatever the machine's clock says. Call it before the fixtures. (The
        requests' test cursors read Python's clock.)"""
        for patcher in frozen_clock(moment):
            cls.startClassPatcher(patcher)

    @contextmanager
    def _at(self, day, hour=12, minute=0):
        """Freeze Python's clock and the database transaction's ``now()`` at
        ``hour``:``minute`` UTC of ``day`` (noon: the same day in Brussels)."""
        moment = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=minute)
        with freeze_time(moment):
            self.patch(self.env.cr, "now", lambda: moment)
            yield

    def _escalate_at_ladder_end(self, enrollments):
        """What the engine does when the ladder of ``enrollments`` is done."""
        self.env["collection.stage.action.escalation"]._escalate(
            [(self.env["collection.stage"], enrollments)]
        )

    def _run_engine(self, day):
        with self._at(day):
            self.env["collection.engine"]._cron_run()
            # What the cron's commit does before it commits: Odoo logs the
            # tracked changes there, and a test never commits.
            self.env.cr.precommit.run()
            self.env.flush_all()

    @classmethod
    def _pay(cls, invoice, amount=None, day=DAY_0):
        return register_payment(invoice, amount or invoice.amount_residual, day)

    def _reminders(self, enrollments):
        subtype = self.env.ref(f"{ADDON}.mail_message_subtype_collection_reminder")
        return self.env["mail.message"].search(
            [
                ("model", "=", "collection.enrollment"),
                ("res_id", "in", enrollments.ids),
                ("subtype_id", "=", subtype.id),
            ]
        )

    @classmethod
    def _addon_records(cls, model, module=ADDON):
        """The records of ``model`` that ``module`` ships (its xml ids)."""
        data = cls.env["ir.model.data"].search([("module", "=", module), ("model", "=", model)])
        return cls.env[model].browse(data.mapped("res_id"))

    @classmethod
    def _addon_models(cls):
        """The stored models this add-on defines (not those it only extends)."""
        data = cls.env["ir.model.data"].search([("module", "=", ADDON), ("model", "=", "ir.model")])
        models = cls.env["ir.model"].browse(data.mapped("res_id"))
        return models.filtered(
            lambda model: not model.transient
            and cls.env[model.model]._auto
            and cls.env[model.model]._original_module == ADDON
        )
