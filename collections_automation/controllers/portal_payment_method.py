from odoo import http
from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.http import request

from ..models.collection_enrollment import OPEN_STATES
from .portal import CollectionsPortal


class CollectionsPaymentMethodPortal(CollectionsPortal):
    """The page where a customer saves a new payment method for the
    automatic payment retries, without paying: the link of the "update your
    payment method" email, reached like the payment-request page."""

    @http.route(
        "/my/collections/<int:enrollment_id>/payment-method",
        type="http",
        auth="public",
        website=True,
        sitemap=False,
    )
    def portal_collection_payment_method(self, enrollment_id, access_token=None, **kwargs):
        """Save a new payment method for the automatic payment retries,
        without paying (the link of the "update your payment method"
        email): Odoo's payment form in validation mode."""
        enrollment_sudo, refusal = self._get_open_collection_request(enrollment_id, access_token)
        if refusal:
            return refusal
        return request.render(
            "collections_automation.portal_collection_payment_method",
            self._prepare_collection_payment_method_values(enrollment_sudo, access_token),
        )

    def _prepare_collection_payment_method_values(self, enrollment_sudo, access_token):
        company = enrollment_sudo.company_id
        partner_sudo = self._get_collection_payer(enrollment_sudo)
        availability_report = {}
        providers_sudo = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(
                company.id,
                partner_sudo.id,
                0.0,
                force_tokenization=True,
                is_validation=True,
                report=availability_report,
            )
        )
        payment_methods_sudo = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers_sudo.ids, partner_sudo.id, force_tokenization=True, report=availability_report
            )
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_request",
                "enrollment": enrollment_sudo,
                "company": company,
                "page_url": self._get_collection_page_url(enrollment_sudo, access_token),
                # Odoo's payment form, in validation mode.
                "mode": "validation",
                "allow_token_selection": False,
                "allow_token_deletion": False,
                "reference_prefix": enrollment_sudo.move_id.name or enrollment_sudo.name,
                "partner_id": partner_sudo.id,
                "providers_sudo": providers_sudo,
                "payment_methods_sudo": payment_methods_sudo,
                "tokens_sudo": request.env["payment.token"].sudo().browse(),
                "availability_report": availability_report,
                "show_tokenize_input_mapping": dict.fromkeys(providers_sudo.ids, False),
                "transaction_route": f"/my/collections/{enrollment_sudo.id}/payment-method/transaction",
                "landing_route": self._get_collection_page_url(
                    enrollment_sudo, access_token, message="payment_method_saved"
                ),
                "access_token": access_token,
            }
        )
        return values

    @http.route(
        "/my/collections/<int:enrollment_id>/payment-method/transaction", type="jsonrpc", auth="public"
    )
    def portal_collection_payment_method_transaction(self, enrollment_id, access_token=None, **kwargs):
        """Create the validation transaction that saves the payment method
        (the save-only form's ``transaction_route``)."""
        try:
            enrollment_sudo = self._get_collection_request(enrollment_id, access_token)
        except (AccessError, MissingError) as error:
            raise ValidationError(request.env._("This payment request is not available.")) from error
        try:
            if enrollment_sudo.state not in OPEN_STATES:
                raise ValidationError(
                    request.env._("This payment request is closed: nothing is left to pay.")
                )
            if kwargs.get("flow") not in ("direct", "redirect"):
                raise ValidationError(request.env._("Enter the new payment method to save it."))
            self._validate_transaction_kwargs(kwargs)
            kwargs.update(
                {
                    # The provider sets the amount and currency of a validation.
                    "amount": None,
                    "currency_id": None,
                    "partner_id": self._get_collection_payer(enrollment_sudo).id,
                    "is_validation": True,
                    "tokenization_requested": True,
                    "reference_prefix": None,
                }
            )
            transaction_sudo = self._create_transaction(**kwargs)
        except ValidationError as error:
            self._audit_refusal_after_rollback(enrollment_sudo, "save_payment_method", error.args[0])
            raise
        self._audit(enrollment_sudo, "save_payment_method", "done", message=transaction_sudo.reference)
        return transaction_sudo._get_processing_values()
