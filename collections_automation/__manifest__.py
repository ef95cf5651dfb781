{
    "name": "Collections Automation",
    "summary": "Automate accounts-receivable collections: processes, stages, "
    "reminders, payment requests and analytics",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "collections_automation",
    "website": "https://github.com/collections-automation/collections_automation",
    "depends": [
        "account",
        "account_payment",
        "payment",
        "portal",
        "mail",
        "sms",
    ],
    "external_dependencies": {"python": ["stripe"]},
    "data": [
        "security/collections_security.xml",
        "security/ir.model.access.csv",
        "views/collection_process_views.xml",
        "views/collection_stage_views.xml",
        "views/account_move_views.xml",
        "views/collections_menus.xml",
    ],
    "demo": [
        "demo/res_partner_demo.xml",
        "demo/account_move_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "collections_automation/static/tests/tours/*.js",
        ],
    },
}
