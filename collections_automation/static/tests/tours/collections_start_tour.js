import { registry } from "@web/core/registry";

/**
 * An accountant opens an overdue invoice, starts collections from the
 * Action menu with the Standard process, and lands on the enrollment.
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
    ],
});
