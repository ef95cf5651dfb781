{
    "name": "Collections Automation: SMS",
    "summary": "Text message reminders in collection processes, from SMS templates",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "collections_automation",
    "website": "https://github.com/collections-automation/collections_automation",
    "depends": ["collections_automation", "sms"],
    "data": [
        "data/sms_template_data.xml",
        "views/collection_stage_views.xml",
        "views/collection_process_views.xml",
    ],
    "demo": ["demo/collection_process_demo.xml"],
    "post_init_hook": "post_init_hook",
    "auto_install": True,
}
