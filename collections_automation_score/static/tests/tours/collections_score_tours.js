import { registry } from "@web/core/registry";

/**
 * A collector opens the worklist: the collection of the customer who pays a
 * month late comes first, though its invoice is the smaller, and the kanban
 * cards show each customer's band.
 */
registry.category("web_tour.tours").add("collections_score_worklist_tour", {
    steps: () => [
        {
            content: "The largest amount at risk first: the late payer's",
            trigger: ".o_list_view .o_data_row:nth-child(1):contains('Slow Payer Ltd'):contains('D: pays very late')",
        },
        {
            trigger: ".o_list_view .o_data_row:nth-child(2):contains('Prompt Payer Ltd'):contains('A: pays on time')",
        },
        { trigger: ".o_switch_view.o_kanban", run: "click" },
        {
            content: "The kanban card shows the band",
            trigger: ".o_kanban_record:contains('Slow Payer Ltd') .o_collection_score_band:contains('D')",
        },
    ],
});

/**
 * A Collections administrator opens a customer's Collections tab, reads why
 * its score is D, and sets it to B by hand with a reason, which the chatter
 * logs.
 */
registry.category("web_tour.tours").add("collections_score_override_tour", {
    steps: () => [
        { trigger: ".o_notebook a.nav-link[name=collections]", run: "click" },
        {
            content: "The band and the facts that moved it",
            trigger: ".o_field_widget[name=collection_score_factors]:contains('Paid 10 of 10 invoices 15 days late or more, 30 days after the due date on average')",
        },
        { trigger: ".o_field_widget[name=collection_score_band]:contains('D: pays very late')" },
        { trigger: "button:contains('Set the payment score')", run: "click" },
        { trigger: ".modal .o_field_widget[name=computed_band]:contains('D')" },
        { trigger: ".modal .o_field_widget[name=band] .o_select_menu_toggler", run: "click" },
        { trigger: ".o_select_menu_item:contains('B: sometimes late')", run: "click" },
        { trigger: ".modal .o_field_widget[name=reason] input", run: "edit Paid by bank guarantee" },
        { trigger: ".modal button[name=action_apply]", run: "click" },
        {
            content: "The band set by hand wins, and the chatter says who set it and why",
            trigger: "body:not(:has(.modal)) .o_field_widget[name=collection_score_band]:contains('B: sometimes late')",
        },
        { trigger: ".o-mail-Message:contains('Paid by bank guarantee')" },
    ],
});

/**
 * A Collections administrator opens the payment score's training: too
 * little history, the baseline predicts and the screen says so; Train now
 * trains it again in the background.
 */
registry.category("web_tour.tours").add("collections_score_model_tour", {
    steps: () => [
        { trigger: ".o_list_view .o_data_row:first-child td[name=as_of]", run: "click" },
        {
            content: "The baseline predicts, and the screen says why",
            trigger: ".o_form_view .o_collection_score_little_history:visible",
        },
        {
            content: "The baseline's figures on the held-out months",
            trigger: ".o_collection_score_quality .o_collection_score_figure_auc",
        },
        { trigger: ".o_form_statusbar button[name=action_train]", run: "click" },
        { trigger: ".o_notification:contains('The payment score is training')" },
    ],
});

/**
 * The KPI screen: thirteen weeks of expected receipts, and last week's
 * forecast beside what came in.
 */
registry.category("web_tour.tours").add("collections_score_forecast_tour", {
    steps: () => [
        {
            content: "Thirteen weeks of expected receipts",
            trigger: ".o_collection_cash_forecast svg:has(.o_collection_forecast_week:nth-of-type(13))",
        },
        {
            content: "The open invoices' receipts are expected in the coming weeks",
            trigger: ".o_collection_cash_forecast .o_collection_forecast_week rect:not([height='0.0'])",
        },
        {
            content: "Last week's forecast beside what came in",
            trigger: ".o_collection_forecast_tracking tbody tr:contains('4,000.00')",
        },
    ],
});
