import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

/**
 * An accountant logs in on the login page, opens Invoicing, then the
 * Collections menu, and finds the overdue invoice of the test customer.
 */
registry.category("web_tour.tours").add("collections_menu_tour", {
    url: "/web/login",
    steps: () => [
        { trigger: "input[name=login]", run: "edit collections_tour_user" },
        { trigger: "input[name=password]", run: "edit collections_tour_user" },
        { trigger: "form.oe_login_form button[type=submit]", run: "click", expectUnloadPage: true },
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Invoicing"),
        {
            content: "Open the Collections menu",
            trigger: "[data-menu-xmlid='collections_automation.collections_menu_root']",
            run: "click",
        },
        {
            content: "Open the invoices to collect",
            trigger: "[data-menu-xmlid='collections_automation.account_move_to_collect_menu']",
            run: "click",
        },
        { trigger: ".o_breadcrumb:contains('Invoices to Collect')" },
        { trigger: ".o_list_view .o_data_row:contains('Tour Customer')" },
    ],
});
