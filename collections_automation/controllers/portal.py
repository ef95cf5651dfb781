import logging
import math
from urllib.parse import urlencode

from odoo import api, fields, http
from odoo.addons.payment.controllers.portal import PaymentPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.fields import Command
from odoo.http import request
from odoo.tools import float_compare, float_repr

from ..models.collection_enrollment import OPEN_STATES
from ..models.collection_portal_audit import FORM_POSTS_PER_HOUR

_logger = logging.getLogger(__name__)

REQUESTS_PER_PAGE = 20
ALL_INVOICES = "all"
PAGE_MESSAGES = ("promised", "disputed", "payment_method_saved")


class CollectionsPortal(PaymentPortal):
    """The customer's side of collections: the payment-request page that
    every reminder links to, where the customer pays, promises or disputes.

    A request is reached with its access token (the link in emails and SMS)
    or by a portal user of the same customer; anything else is a 404, so the
    page never tells whether another customer's request exists."""

    # ------------------------------------------------------------------
    # Portal home
    # ------------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "collection_request_count" in counters:
            Enrollment = request.env["collection.enrollment"]
            values["collection_request_count"] = (
                Enrollment.search_count(self._get_collection_requests_domain())
                if Enrollment.has_access("read")
                else 0
            )
        return values

    def _get_collection_requests_domain(self):
        partner = request.env.user.partner_id.commercial_partner_id
        return [
            ("partner_id", "child_of", partner.id),
            ("state", "in", OPEN_STATES),
        ]

    @http.route(
        ["/my/collections", "/my/collections/page/<int:page>"], type="http", auth="user", website=True
    )
    def portal_my_collection_requests(self, page=1, **kwargs):
        Enrollment = request.env["collection.enrollment"]
        if not Enrollment.has_access("read"):
            return request.redirect("/my")
        domain = self._get_collection_requests_domain()
        pager = portal_pager(
            url="/my/collections",
            total=Enrollment.search_count(domain),
            page=page,
            step=REQUESTS_PER_PAGE,
        )
        requests = Enrollment.search(
            domain, order="due_date, id", limit=REQUESTS_PER_PAGE, offset=pager["offset"]
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_requests",
                "collection_requests": requests,
                "pager": pager,
                "default_url": "/my/collections",
            }
        )
        return request.render("collections_automation.portal_my_collection_requests", values)

    # ------------------------------------------------------------------
    # The payment-request page
    # ------------------------------------------------------------------

    def _get_collection_request(self, enrollment_id, access_token):
        """The enrollment, sudoed, once the visitor proved access to it:
        its token, or a portal user of its customer (record rules)."""
        enrollment_sudo = self._document_check_access(
            "collection.enrollment", enrollment_id, access_token=access_token
        )
        self._set_collection_page_lang(enrollment_sudo)
        return enrollment_sudo

    def _set_collection_page_lang(self, enrollment_sudo):
        """A visitor with the emailed link reads the page in the customer's
        language, the one of the email, whatever the browser says; a
        logged-in user reads it in their own."""
        if not request.env.user._is_public():
            return
        lang = enrollment_sudo.partner_id.lang
        if lang and lang in dict(request.env["res.lang"].get_installed()):
            request.update_context(lang=lang)

    def _get_open_collection_request(self, enrollment_id, access_token):
        """(the enrollment, sudoed, None) for a visitor with access to an
        open request; else (None, the response): a 404, or the way back to
        a closed request's status page."""
        try:
            enrollment_sudo = self._get_collection_request(enrollment_id, access_token)
        except (AccessError, MissingError):
            return None, request.not_found()
        if enrollment_sudo.state not in OPEN_STATES:
            return None, request.redirect(self._get_collection_page_url(enrollment_sudo, access_token))
        return enrollment_sudo, None

    @staticmethod
    def _parse_selection(selection, enrollments):
        """The enrollments of the page the customer chose to pay: ``all`` or
        a list of enrollment ids joined by ``-``. Anything not on the page is
        refused, never silently dropped."""
        if not selection or selection == ALL_INVOICES:
            return enrollments
        try:
            ids = {int(part) for part in selection.split("-")}
        except ValueError as error:
            raise ValidationError(request.env._("The invoices to pay are not valid.")) from error
        chosen = enrollments.filtered(lambda enrollment: enrollment.id in ids)
        if not chosen or len(chosen) != len(ids):
            raise ValidationError(request.env._("The invoices to pay are not part of this request."))
        return chosen

    @staticmethod
    def _format_selection(chosen, enrollments):
        if chosen == enrollments:
            return ALL_INVOICES
        return "-".join(str(enrollment_id) for enrollment_id in sorted(chosen.ids))

    @http.route(
        "/my/collections/<int:enrollment_id>", type="http", auth="public", website=True, sitemap=False
    )
    def portal_collection_request(self, enrollment_id, access_token=None, message=None, **kwargs):
        try:
            enrollment_sudo = self._get_collection_request(enrollment_id, access_token)
        except (AccessError, MissingError):
            return request.not_found()
        replacement_sudo = enrollment_sudo._get_replacement()
        if replacement_sudo:
            # The invoice is still owed, under the collection that replaced
            # this one: its link goes on working.
            return request.redirect(replacement_sudo.get_portal_url())
        if enrollment_sudo.state not in OPEN_STATES:
            return request.render(
                "collections_automation.portal_collection_request_status",
                self._prepare_collection_status_values(enrollment_sudo, access_token),
            )
        enrollments_sudo = enrollment_sudo._get_request_enrollments()
        # The selection form sends one ``pay_<enrollment id>`` per ticked invoice.
        ticked = "-".join(key.removeprefix("pay_") for key in sorted(kwargs) if key.startswith("pay_"))
        collection_error = None
        try:
            chosen_sudo = self._parse_selection(ticked, enrollments_sudo)
        except ValidationError as error:
            chosen_sudo = enrollments_sudo
            collection_error = error.args[0]
        values = self._prepare_collection_request_values(
            enrollment_sudo,
            enrollments_sudo,
            chosen_sudo,
            access_token,
            # Only known codes: the page never shows text taken from its URL.
            message=message if message in PAGE_MESSAGES else None,
            collection_error=collection_error,
        )
        return request.render("collections_automation.portal_collection_request", values)

    def _get_collection_page_url(self, enrollment_sudo, access_token=None, path="", **query):
        url = enrollment_sudo.access_url + path
        params = {key: value for key, value in query.items() if value}
        if access_token:
            params["access_token"] = access_token
        if params:
            url += "?" + urlencode(params)
        return url

    def _prepare_collection_status_values(self, enrollment_sudo, access_token):
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_request",
                "enrollment": enrollment_sudo,
                "process": enrollment_sudo.process_id,
                "company": enrollment_sudo.company_id,
                "access_token": access_token,
            }
        )
        return values

    def _prepare_collection_request_values(
        self,
        enrollment_sudo,
        enrollments_sudo,
        chosen_sudo,
        access_token,
        message=None,
        collection_error=None,
    ):
        company = enrollment_sudo.company_id
        currency = enrollment_sudo.currency_id
        invoices_sudo = enrollments_sudo.move_id
        # Invoice PDF links carry the invoice's own portal token.
        for invoice in invoices_sudo.filtered(lambda move: not move.access_token):
            invoice._portal_ensure_token()
        amount = sum(chosen_sudo.mapped("amount_residual"))
        selection = self._format_selection(chosen_sudo, enrollments_sudo)
        # Tokens are saved for the visitor's partner when logged in, else for
        # the customer who owes (never for the public user).
        partner_sudo = self._get_collection_payer(enrollment_sudo)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_request",
                "enrollment": enrollment_sudo,
                "enrollments": enrollments_sudo,
                "chosen": chosen_sudo,
                "process": enrollment_sudo.process_id,
                "company": company,
                "total_due": sum(enrollments_sudo.mapped("amount_residual")),
                "pending_transactions": enrollments_sudo._get_pending_transactions(),
                "bank_account": self._get_collection_bank_account(chosen_sudo, company),
                "dispute_reasons": enrollment_sudo._fields["dispute_reason"]._description_selection(
                    request.env
                ),
                "collection_message": message,
                "collection_error": collection_error,
                "page_access_token": access_token,
                "page_url": self._get_collection_page_url(enrollment_sudo, access_token),
                "payment_method_url": self._get_collection_page_url(
                    enrollment_sudo, access_token, path="/payment-method"
                ),
            }
        )
        values.update(self._prepare_collection_forms_values(enrollments_sudo))
        values.update(
            self._get_collection_payment_values(
                enrollment_sudo, partner_sudo, company, currency, amount, selection, access_token
            )
        )
        return values

    def _prepare_collection_forms_values(self, enrollments_sudo):
        """The promise and dispute forms, and what the customer already
        did: a promise still open shows, and fills the form that may improve
        it (an earlier date, a larger amount); a dispute under review shows,
        and its requests leave the forms. Each request follows its own
        process: a form covers the requests that allow it, and the page
        names the others."""
        promised_sudo = enrollments_sudo.filtered(lambda e: e.pause_reason == "promise")
        disputed_sudo = enrollments_sudo.filtered(lambda e: e.pause_reason == "dispute")
        undisputed_sudo = enrollments_sudo - disputed_sudo
        promise_sudo = enrollments_sudo._filter_open_to_customer("allow_promise")
        dispute_sudo = enrollments_sudo._filter_open_to_customer("allow_dispute")
        first_day, last_day = promise_sudo._get_promise_window()
        currency = enrollments_sudo[:1].currency_id
        promised = sum(promised_sudo.mapped("promise_amount"))
        total_due = sum(promise_sudo.mapped("amount_residual"))

        def as_input(amount):
            # As an amount input shows it: 750.00, not 750.0.
            return float_repr(amount, currency.decimal_places)

        return {
            "promise_enrollments": promise_sudo,
            "promise_not_for": undisputed_sudo - promise_sudo,
            "promise_total": as_input(total_due),
            # The form improving an open promise starts from it, when it
            # covers every request of the form.
            "promise_amount_value": as_input(promised if promise_sudo == promised_sudo else total_due),
            "promise_min_amount": as_input(promise_sudo._get_promise_min_amount()),
            "promise_first_day": first_day,
            "promise_last_day": last_day,
            "promised_enrollments": promised_sudo,
            "promised_amount": currency.format(promised),
            # The earliest: a new promise may not be later than it.
            "promised_by": min(promised_sudo.mapped("pause_until"), default=False),
            "disputed_enrollments": disputed_sudo,
            "dispute_enrollments": dispute_sudo,
            "dispute_not_for": undisputed_sudo - dispute_sudo,
        }

    def _get_collection_bank_account(self, chosen_sudo, company):
        """The account to pay into by bank transfer, as on the invoices: the
        invoice's recipient account, else the company's first one."""
        return chosen_sudo.move_id.partner_bank_id[:1] or company.partner_id.bank_ids[:1]

    def _get_collection_payment_values(
        self, enrollment_sudo, partner_sudo, company, currency, amount, selection, access_token
    ):
        """The values of Odoo's payment form (``payment.form``) for paying
        ``amount`` of the chosen invoices."""
        availability_report = {}
        providers_sudo = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(
                company.id, partner_sudo.id, amount, currency_id=currency.id, report=availability_report
            )
        )
        payment_methods_sudo = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers_sudo.ids, partner_sudo.id, currency_id=currency.id, report=availability_report
            )
        )
        tokens_sudo = (
            request.env["payment.token"].sudo()._get_available_tokens(providers_sudo.ids, partner_sudo.id)
        )
        return {
            "company_mismatch": not self._can_partner_pay_in_company(partner_sudo, company),
            "expected_company": company,
            "show_tokenize_input_mapping": self._compute_show_tokenize_input_mapping(providers_sudo),
            "amount": amount,
            "currency": currency,
            "partner_id": partner_sudo.id,
            "providers_sudo": providers_sudo,
            "payment_methods_sudo": payment_methods_sudo,
            "tokens_sudo": tokens_sudo,
            "availability_report": availability_report,
            "transaction_route": f"/my/collections/{enrollment_sudo.id}/transaction/{selection}",
            "landing_route": self._get_collection_page_url(enrollment_sudo, access_token),
            "access_token": access_token,
            "reference_prefix": enrollment_sudo.move_id.name or enrollment_sudo.name,
        }

    # ------------------------------------------------------------------
    # Audit
    # ------------------------------------------------------------------

    def _audit(self, enrollment_sudo, action, outcome, message=None):
        """An audit line of the visitor's action, in the request's
        transaction."""
        return (
            request.env["collection.portal.audit"]
            .sudo()
            ._record(enrollment_sudo, action, outcome, message=message, httprequest=request.httprequest)
        )

    def _audit_refusal_after_rollback(self, enrollment_sudo, action, message):
        """An audit line of an action refused by raising: the request's
        transaction is rolled back, so the line is written after it, by a
        cursor of its own."""
        values = (
            request.env["collection.portal.audit"]
            .sudo()
            ._prepare_audit_values(
                enrollment_sudo, action, "refused", message=message, httprequest=request.httprequest
            )
        )
        registry = request.env.registry

        @request.env.cr.postrollback.add
        def write_audit():
            with registry.cursor() as cr:
                # The values were prepared from the checked request above;
                # the request's environment is gone by now.
                api.Environment(cr, api.SUPERUSER_ID, {})["collection.portal.audit"].create(values)

    # ------------------------------------------------------------------
    # Paying
    # ------------------------------------------------------------------

    @http.route(
        "/my/collections/<int:enrollment_id>/transaction/<string:selection>", type="jsonrpc", auth="public"
    )
    def portal_collection_transaction(self, enrollment_id, selection, access_token=None, **kwargs):
        """Create the transaction of the chosen invoices and return its
        processing values (the payment form's ``transaction_route``)."""
        try:
            enrollment_sudo = self._get_collection_request(enrollment_id, access_token)
        except (AccessError, MissingError) as error:
            raise ValidationError(request.env._("This payment request is not available.")) from error
        if enrollment_sudo.state not in OPEN_STATES:
            raise ValidationError(request.env._("This payment request is closed: nothing is left to pay."))
        try:
            return self._create_collection_transaction(enrollment_sudo, selection, kwargs)
        except ValidationError as error:
            self._audit_refusal_after_rollback(enrollment_sudo, "pay", error.args[0])
            raise

    def _create_collection_transaction(self, enrollment_sudo, selection, kwargs):
        enrollments_sudo = enrollment_sudo._get_request_enrollments()
        chosen_sudo = self._parse_selection(selection, enrollments_sudo)
        if kwargs.get("is_validation"):
            # A validation transaction would credit the requests with its
            # token amount; saving a card has a page of its own.
            raise ValidationError(request.env._("This page takes payments only."))
        chosen_sudo._start_online_payment()
        amount = sum(chosen_sudo.mapped("amount_residual"))
        currency = enrollment_sudo.currency_id
        # The amount is the server's, from what is due now; a different
        # amount sent by the browser means the page is stale (or was edited).
        try:
            sent_amount = float(kwargs.get("amount") or 0.0)
        except (TypeError, ValueError) as error:
            raise ValidationError(request.env._("The amount to pay is not valid.")) from error
        if not math.isfinite(sent_amount):
            raise ValidationError(request.env._("The amount to pay is not valid."))
        # Plain floats first: rounding a huge number to cents overflows.
        if abs(sent_amount - amount) > currency.rounding or float_compare(
            sent_amount, amount, precision_rounding=currency.rounding
        ):
            raise ValidationError(
                request.env._("The amount due has changed since the page was opened: reload the page.")
            )
        self._validate_transaction_kwargs(kwargs)
        partner_sudo = self._get_collection_payer(enrollment_sudo)
        if not self._can_partner_pay_in_company(partner_sudo, enrollment_sudo.company_id):
            raise ValidationError(
                request.env._("Please switch to the company of this payment request to pay it.")
            )
        kwargs.update(
            {
                "amount": amount,
                "currency_id": currency.id,
                "partner_id": partner_sudo.id,
                "reference_prefix": enrollment_sudo.move_id.name if len(chosen_sudo) == 1 else None,
            }
        )
        transaction_sudo = self._create_transaction(
            custom_create_values=self._prepare_collection_transaction_values(enrollment_sudo, chosen_sudo),
            **kwargs,
        )
        self._audit(enrollment_sudo, "pay", "done", message=transaction_sudo.reference)
        return transaction_sudo._get_processing_values()

    def _prepare_collection_transaction_values(self, enrollment_sudo, chosen_sudo):
        values = {
            "collection_enrollment_id": (chosen_sudo if len(chosen_sudo) == 1 else enrollment_sudo).id,
            "collection_enrollment_ids": [Command.set(chosen_sudo.ids)],
        }
        if chosen_sudo.move_id:
            values["invoice_ids"] = [Command.set(chosen_sudo._get_payable_invoices().ids)]
        return values

    # ------------------------------------------------------------------
    # Saving a payment method without paying
    # ------------------------------------------------------------------

    def _get_collection_payer(self, enrollment_sudo):
        """Who pays, or saves a card: the logged-in visitor's partner, else
        the customer who owes (never the public user)."""
        logged_in = not request.env.user._is_public()
        return request.env.user.partner_id if logged_in else enrollment_sudo.partner_id

    # ------------------------------------------------------------------
    # Promise to pay and dispute
    # ------------------------------------------------------------------

    def _post_collection_form(self, enrollment_id, access_token, action_name, action):
        """Run ``action(enrollments_sudo)`` for a form of the page and
        redirect back to it with a message. Bad input shows on the page
        (400), too many posts in an hour too (429); nothing changes, and
        each post leaves an audit line."""
        enrollment_sudo, refusal = self._get_open_collection_request(enrollment_id, access_token)
        if refusal:
            return refusal
        enrollments_sudo = enrollment_sudo._get_request_enrollments()
        Audit = request.env["collection.portal.audit"].sudo()
        if Audit._count_recent(enrollments_sudo, action_name) >= FORM_POSTS_PER_HOUR:
            message = request.env._(
                "You sent this form too many times: please try again in an hour, or contact us."
            )
            self._audit(enrollment_sudo, action_name, "limited", message=message)
            return self._render_collection_form_error(
                enrollment_sudo, enrollments_sudo, access_token, message, 429
            )
        try:
            # Runs as superuser: the visitor proved access to these
            # enrollments above, and the actions check their own input.
            with request.env.cr.savepoint():
                done = action(enrollments_sudo)
        except (UserError, ValidationError) as error:
            self._audit(enrollment_sudo, action_name, "refused", message=error.args[0])
            return self._render_collection_form_error(
                enrollment_sudo, enrollments_sudo, access_token, error.args[0], 400
            )
        self._audit(enrollment_sudo, action_name, "done")
        return request.redirect(self._get_collection_page_url(enrollment_sudo, access_token, message=done))

    def _render_collection_form_error(self, enrollment_sudo, enrollments_sudo, access_token, message, status):
        return request.render(
            "collections_automation.portal_collection_request",
            self._prepare_collection_request_values(
                enrollment_sudo,
                enrollments_sudo,
                enrollments_sudo,
                access_token,
                collection_error=message,
            ),
            status=status,
        )

    @staticmethod
    def _get_allowing(enrollments_sudo, field_name):
        """The requests of the page open to the action (their process allows
        it, ``allow_promise`` or ``allow_dispute``, and they are not under
        dispute); none open: all of them, for the action to say why it is
        refused, or that a dispute is already with the team."""
        open_sudo = enrollments_sudo._filter_open_to_customer(field_name)
        if not open_sudo and all(enrollment.pause_reason == "dispute" for enrollment in enrollments_sudo):
            raise UserError(
                request.env._(
                    "Our team is looking into your message about these invoices: they will contact you."
                )
            )
        return open_sudo or enrollments_sudo

    @staticmethod
    def _get_chosen_to_dispute(allowing_sudo, chosen_ids):
        """The requests the customer ticked among those open to a dispute;
        the one request when only one is open (the form has nothing to
        tick). Whatever the page showed when it was loaded, several open
        requests need a choice, and a request not open to a dispute on the
        page is refused, never silently dropped."""
        if len(allowing_sudo._filter_open_to_customer("allow_dispute")) < 2:
            # One request to dispute, or none (the action then says why).
            return allowing_sudo
        if not chosen_ids:
            raise ValidationError(request.env._("Choose the invoices you dispute."))
        try:
            ids = {int(chosen_id) for chosen_id in chosen_ids}
        except ValueError as error:
            raise ValidationError(request.env._("The invoices to dispute are not valid.")) from error
        chosen_sudo = allowing_sudo.filtered(lambda enrollment: enrollment.id in ids)
        if len(chosen_sudo) != len(ids):
            raise ValidationError(request.env._("The invoices to dispute are not part of this request."))
        return chosen_sudo

    @http.route(
        "/my/collections/<int:enrollment_id>/promise",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_collection_promise(
        self, enrollment_id, access_token=None, promise_date=None, promise_amount=None, **kw
    ):
        def promise(enrollments_sudo):
            try:
                amount = float(promise_amount or 0.0)
                date = fields.Date.to_date(promise_date) if promise_date else False
            except ValueError as error:
                raise ValidationError(request.env._("Enter a valid date and amount.")) from error
            self._get_allowing(enrollments_sudo, "allow_promise").action_promise_to_pay(date, amount)
            return "promised"

        return self._post_collection_form(enrollment_id, access_token, "promise", promise)

    @http.route(
        "/my/collections/<int:enrollment_id>/dispute",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_collection_dispute(
        self, enrollment_id, access_token=None, dispute_reason=None, dispute_message=None, **kw
    ):
        # The page's checkboxes, when it covers several requests: one may be
        # disputed and the others paid.
        chosen_ids = request.httprequest.form.getlist("dispute_ids")

        def dispute(enrollments_sudo):
            author = request.env.user.partner_id if not request.env.user._is_public() else None
            allowing_sudo = self._get_allowing(enrollments_sudo, "allow_dispute")
            disputed_sudo = self._get_chosen_to_dispute(allowing_sudo, chosen_ids)
            disputed_sudo.action_dispute(dispute_reason, dispute_message, author=author)
            return "disputed"

        return self._post_collection_form(enrollment_id, access_token, "dispute", dispute)
