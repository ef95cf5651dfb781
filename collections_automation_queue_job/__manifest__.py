{
    "name": "Collections Automation: Job Queue",
    "summary": "Run the collections engine's batches as OCA queue_job jobs, on every worker of every server",
    "version": "19.0.1.0.2",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "collections_automation",
    "maintainers": ["collections-automation"],
    "development_status": "Beta",
    "website": "https://github.com/collections-automation/collections_automation",
    "depends": ["collections_automation", "queue_job"],
    "data": ["data/queue_job_data.xml"],
    "auto_install": True,
}
