{
    "name": "Collections Automation: Dashboard",
    "summary": "The Collections dashboard in Odoo's Dashboards app: cash collected, DSO, CEI, aging, stages",
    "version": "19.0.1.0.0",
    "category": "Productivity/Dashboard",
    "license": "LGPL-3",
    "author": "collections_automation",
    "maintainers": ["collections-automation"],
    "development_status": "Beta",
    "images": ["static/description/screenshots/dashboard.png"],
    "website": "https://github.com/collections-automation/collections_automation",
    "depends": ["collections_automation", "spreadsheet_dashboard"],
    "data": ["data/dashboards.xml"],
    "auto_install": True,
    "assets": {
        "web.assets_tests": [
            "collections_automation_spreadsheet/static/tests/tours/*.js",
        ],
    },
}
