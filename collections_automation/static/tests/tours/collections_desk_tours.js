import { registry } from "@web/core/registry";

/**
 * An administrator opens the Collections settings, goes to the processes,
 * designs a process with three stages, checks the timeline preview (and that it
 * flags a stage added out of order), and
 * activates it after reading how many invoices its triggers would enroll.
 */
registry.category("web_tour.tours").add("collections_designer_tour", {
    steps: () => [
        {
            content: "The Collections block of the settings",
            trigger: "#collection_default_process button:contains('Processes')",
            run: "click",
        },
        { trigger: ".o_list_view .o_list_button_add", run: "click" },
        { trigger: ".o_form_view .o_field_widget[name=name] input", run: "edit Three steps" },
        ...[
            ["Friendly nudge", "1"],
            ["Phone call", "5"],
            ["Last letter", "10"],
        ].flatMap(([name, delay]) => [
            {
                content: `Add the stage ${name}`,
                trigger: ".o_field_widget[name=stage_ids] .o_field_x2many_list_row_add a",
                run: "click",
            },
            { trigger: ".modal .o_field_widget[name=name] input", run: `edit ${name}` },
            { trigger: ".modal .o_field_widget[name=delay_days] input", run: `edit ${delay}` },
            { trigger: ".modal .o_field_widget[name=create_activity] input", run: "click" },
            { trigger: ".modal .o_form_button_save", run: "click" },
            { trigger: `.o_field_widget[name=stage_ids] .o_data_row:contains('${name}')` },
        ]),
        {
            content: "The timeline shows the three stages, with their actions",
            trigger: ".o_collection_timeline tbody tr:nth-child(3):contains('Last letter'):contains('Activity')",
        },
        {
            content: "Add a stage at the bottom that would run before the one above it",
            trigger: ".o_field_widget[name=stage_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        { trigger: ".modal .o_field_widget[name=name] input", run: "edit Too early" },
        { trigger: ".modal .o_field_widget[name=delay_days] input", run: "edit 3" },
        { trigger: ".modal .o_field_widget[name=create_activity] input", run: "click" },
        { trigger: ".modal .o_form_button_save", run: "click" },
        {
            content: "The preview says the order is wrong before Save refuses it",
            trigger: ".o_collection_timeline_problems:contains('Too early'):contains('Last letter')",
        },
        {
            trigger: ".o_field_widget[name=stage_ids] .o_data_row:contains('Too early') td[name=name]",
            run: "click",
        },
        { trigger: ".modal .o_field_widget[name=delay_days] input", run: "edit 12" },
        { trigger: ".modal .o_form_button_save", run: "click" },
        {
            content: "In order again: the warning is gone",
            trigger: ".o_form_view:not(:has(.o_collection_timeline_problems)) .o_collection_timeline tbody tr:nth-child(4):contains('Too early')",
        },
        { trigger: ".o_field_widget[name=auto_enroll_overdue] input", run: "click" },
        { trigger: ".o_form_view .o_form_button_save", run: "click" },
        { trigger: ".o_form_view .o_form_saved" },
        {
            content: "A new process waits inactive until activated",
            trigger: ".o_form_view .ribbon:contains('Inactive')",
        },
        { trigger: ".o_form_statusbar button[name=action_activate]", run: "click" },
        {
            content: "Activating first says what the triggers would enroll today",
            trigger: ".modal .o_collection_activation_count:contains('No open invoice is enrolled')",
        },
        { trigger: ".modal button[name=action_activate]", run: "click" },
        {
            content: "Active: no Inactive ribbon, no Activate button",
            trigger: ".o_form_view:not(:has(.ribbon)):not(:has(button[name=action_activate])) .o_field_widget[name=name] input",
        },
    ],
});

/**
 * A manager opens the overview, one column per process where every open
 * collection shows (the escalated one and the one waiting for its
 * escalation too), then filters it to disputed collections and resumes one.
 */
registry.category("web_tour.tours").add("collections_resume_dispute_tour", {
    steps: () => [
        { trigger: ".o_kanban_view .o_kanban_group .o_column_title:contains('Tour Standard')" },
        {
            content: "No column without a name hides collections",
            trigger: ".o_kanban_view:not(:has(.o_column_title:contains('None')))",
        },
        { trigger: ".o_kanban_record:has(.badge:contains('Escalated'))" },
        { trigger: ".o_kanban_record .o_collection_escalates:contains('Escalates on')" },
        { trigger: ".o_searchview_dropdown_toggler", run: "click" },
        { trigger: ".o_filter_menu .o-dropdown-item:contains('Disputed')", run: "click" },
        {
            content: "Only the disputed collection is left",
            trigger: ".o_kanban_record .o_collection_badge_disputed",
            async run() {
                // The kanban reloads after the filter: wait for it, a bounded while.
                for (let attempt = 0; attempt < 50; attempt++) {
                    const shown = document.querySelectorAll(".o_kanban_record:not(.o_kanban_ghost)").length;
                    if (shown === 1) {
                        return;
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                throw new Error("the Disputed filter left other collections shown");
            },
        },
        { trigger: ".o_kanban_record:has(.o_collection_badge_disputed)", run: "click" },
        { trigger: ".o_form_view button[name=action_resume]", run: "click" },
        { trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Running')" },
    ],
});

/** The analysis opens as a pivot grouped by process and stage. */
registry.category("web_tour.tours").add("collections_analysis_tour", {
    steps: () => [
        { trigger: ".o_pivot_view .o_pivot" },
        { trigger: ".o_pivot th.o_pivot_header_cell_closed:contains('Tour Standard'), .o_pivot th:contains('Tour Standard')" },
        { trigger: ".o_pivot th:contains('Tour reminder')" },
        { trigger: ".o_pivot th:contains('Amount enrolled')" },
    ],
});

/** A Collections administrator confirms a late charge waiting in draft. */
registry.category("web_tour.tours").add("collections_approve_late_charge_tour", {
    steps: () => [
        {
            content: "The draft charge waits in Late Charges to Approve",
            trigger: ".o_list_view .o_data_row:contains('Tour Customer') td[name=invoice_date]",
            run: "click",
        },
        { trigger: ".o_form_view .o_field_widget[name=collection_late_invoice_id]:contains('INV/')" },
        { trigger: ".o_form_view .o_form_statusbar button[name=action_post]", run: "click" },
        { trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Posted')" },
    ],
});

/** The administrator approves the legal action of an escalated collection. */
registry.category("web_tour.tours").add("collections_approve_legal_tour", {
    steps: () => [
        { trigger: ".o_form_view .o_field_widget[name=legal_state]:contains('To approve')" },
        { trigger: ".o_form_view .o_form_statusbar button[name=action_approve_legal]", run: "click" },
        { trigger: ".modal-footer button.btn-primary", run: "click" },
        { trigger: ".o_form_view .o_field_widget[name=legal_state]:contains('Sent to legal')" },
        {
            content: "The demand letter and the evidence pack are in the chatter",
            trigger: ".o-mail-Chatter .o-mail-AttachmentCard:contains('demand-letter')",
        },
    ],
});
