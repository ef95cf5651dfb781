import { registry } from "@web/core/registry";

/** Enter a test card in Odoo's payment form with the demo provider, and submit. */
function submitDemoCard(submitContent) {
    return [
        {
            content: "Choose the demo payment method",
            trigger: "#o_payment_form input[name=o_payment_radio]",
            run: "click",
        },
        {
            content: "Enter test card details",
            trigger: "#o_payment_form #customer_input",
            run: "edit 4242424242424242",
        },
        {
            content: submitContent,
            trigger: "#o_payment_form button[name=o_payment_submit_button]",
            run: "click",
            expectUnloadPage: true,
        },
    ];
}

/** Pay the request with the demo provider; the page then says it is paid. */
function payWithDemoCard() {
    return [
        ...submitDemoCard("Pay"),
        {
            content: "Back on the request, which is paid",
            trigger: ".o_collection_request_status:contains('Paid, thank you')",
            timeout: 30000,
        },
    ];
}

/**
 * A customer opens the link of a reminder without logging in, pays
 * everything with the demo provider, and sees the request paid.
 */
registry.category("web_tour.tours").add("collections_portal_pay_tour", {
    steps: () => [
        { trigger: ".o_collection_request h2:contains('Settle your account')" },
        {
            content: "The page fits the phone's width",
            trigger: ".o_collection_request",
            run() {
                const overflow = document.documentElement.scrollWidth - window.innerWidth;
                if (overflow > 0) {
                    throw new Error(`The page is ${overflow}px wider than the screen`);
                }
            },
        },
        { trigger: ".o_collection_total:contains('1,250.00')" },
        ...payWithDemoCard(),
    ],
});

/**
 * On make run's demo database: a customer opens the link of a reminder the
 * demo engine emailed, pays with the demo provider, and sees the request paid.
 */
registry.category("web_tour.tours").add("collections_demo_pay_tour", {
    steps: () => [
        // The title is the demo process's own.
        { trigger: ".o_collection_request h2" },
        ...payWithDemoCard(),
    ],
});

/**
 * A customer whose card was declined opens the "update your payment
 * method" link and saves a new card with the demo provider, without paying.
 */
registry.category("web_tour.tours").add("collections_portal_save_card_tour", {
    steps: () => [
        { trigger: ".o_collection_payment_method h2:contains('Update your payment method')" },
        ...submitDemoCard("Save the card"),
        {
            content: "Back on the request: the card is saved",
            trigger: ".o_collection_payment_method_saved",
            timeout: 30000,
        },
    ],
});

/**
 * A customer promises to pay on the first day the page offers: the server's
 * day, on the company's calendar, whatever the browser's clock says.
 */
registry.category("web_tour.tours").add("collections_portal_promise_tour", {
    steps: () => [
        { trigger: ".o_collection_request h2:contains('Settle your account')" },
        {
            content: "Choose the date",
            trigger: ".o_collection_promise_form input[name=promise_date]",
            run() {
                this.anchor.value = this.anchor.min;
            },
        },
        {
            content: "Promise part of the amount",
            trigger: ".o_collection_promise_form input[name=promise_amount]",
            run: "edit 600",
        },
        {
            content: "Promise",
            trigger: ".o_collection_promise_form button[type=submit]",
            run: "click",
            expectUnloadPage: true,
        },
        { trigger: ".o_collection_promised:contains('we noted your promise')" },
    ],
});

/** A customer disputes the amount of one of the page's two invoices. */
registry.category("web_tour.tours").add("collections_portal_dispute_tour", {
    steps: () => [
        { trigger: ".o_collection_request h2:contains('Settle your account')" },
        {
            content: "Only the first invoice is wrong: untick the second",
            trigger: ".o_collection_dispute_choice input[name=dispute_ids]:eq(1):checked",
            run: "click",
        },
        {
            content: "Choose the reason",
            trigger: ".o_collection_dispute_form select[name=dispute_reason]",
            run: "select wrong_amount",
        },
        {
            content: "Explain",
            trigger: ".o_collection_dispute_form textarea[name=dispute_message]",
            run: "edit We were billed twice for March.",
        },
        {
            content: "Send the dispute",
            trigger: ".o_collection_dispute_form button[type=submit]",
            run: "click",
            expectUnloadPage: true,
        },
        { trigger: ".o_collection_disputed:contains('We received your message')" },
    ],
});
