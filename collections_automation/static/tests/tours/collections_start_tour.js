import { registry } from "@web/core/registry";

/**
 * An accountant opens an overdue invoice, starts collections from the
 * Action menu with the Standard process, and lands on the enrollment. Back
 * on the invoice, the same menu says there is nothing more to enroll, and
 * offers no Start.
 */
registry.category("web_tour.tours").add("collections_start_tour", {
    steps: () => [
        {
            content: "Open the overdue invoice",
            trigger: ".o_list_view .o_data_row:contains('Tour Customer') .o_data_cell",
            run: "click",
        },
        { trigger: ".o_form_view .o_field_widget[name=partner_id]:contains('Tour Customer')" },
        {
            content: "Open the Action menu",
            trigger: ".o_form_view .o_cp_action_menus i.fa-cog",
            run: "click",
        },
        {
            content: "Start collections",
            trigger: ".dropdown-menu .o-dropdown-item:contains('Start collections')",
            run: "click",
        },
        {
            content: "Choose the process",
            trigger: ".modal .o_field_widget[name=process_id] input",
            run: "edit Tour Standard",
        },
        { trigger: ".ui-autocomplete .dropdown-item:contains('Tour Standard')", run: "click" },
        {
            content: "Start",
            trigger: ".modal button[name=action_enroll]",
            run: "click",
        },
        {
            content: "The enrollment runs, on the invoice, with its first stage planned",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Running')",
        },
        { trigger: ".o_form_view .o_field_widget[name=move_id]:contains('INV/')" },
        { trigger: ".o_form_view .o_field_widget[name=next_stage_id]:contains('Tour reminder')" },
        {
            content: "Back to the invoice",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('INV/')",
            run: "click",
        },
        {
            content: "Open the Action menu again",
            trigger: ".o_form_view .o_cp_action_menus i.fa-cog",
            run: "click",
        },
        {
            content: "Start collections again",
            trigger: ".dropdown-menu .o-dropdown-item:contains('Start collections')",
            run: "click",
        },
        {
            content: "Nothing to enroll: the wizard says why and offers no Start",
            trigger: ".modal .o_collection_nothing_to_enroll:contains('Nothing to enroll')",
        },
        { trigger: ".modal .alert:contains('already in a collection process')" },
        { trigger: ".modal .modal-footer:not(:has(button[name=action_enroll]:visible))" },
        {
            content: "Close",
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        { trigger: "body:not(:has(.modal))" },
    ],
});
