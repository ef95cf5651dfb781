import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("collections_dashboard_tour", {
    steps: () => [
        {
            content: "Open the Collections dashboard of the Finance group",
            trigger: ".o_search_panel_category_value .o_dashboard_name:contains('Collections')",
            run: "click",
        },
        {
            content: "It is the dashboard shown",
            trigger: ".o_search_panel_category_value.active .o_dashboard_name:contains('Collections')",
        },
        {
            // The spreadsheet draws the figures in view: the key figures and
            // the first charts. (A chart whose query fails draws its error
            // inside its canvas: the Python tests check every query.)
            content: "Its key figures and first charts are drawn",
            trigger: ".o_renderer .o-figure:eq(3) canvas",
        },
    ],
});
