from . import test_access
from . import test_analysis
from . import test_company_calendar
from . import test_desk
from . import test_email_layout
from . import test_engine
from . import test_engine_concurrency
from . import test_enrollment
from . import test_kpi
from . import test_kpi_days
from . import test_kpi_trends
from . import test_late_charge_stage
from . import test_late_charges
from . import test_legal
from . import test_lifecycle
from . import test_mail_batch
from . import test_sequence_batch
from . import test_payment_concurrency
from . import test_payment_retry
from . import test_portal
from . import test_portal_security
from . import test_process_designer
from . import test_promise_policy
from . import test_process_validation
from . import test_rpc
from . import test_segment_rules
from . import test_settings
from . import test_simulation
from . import test_tours
from . import test_translations
from . import test_views

# Run on make run's demo database by tests/test_install_uninstall.py; the
# name pytest does not collect, the alias Odoo's test loader looks for.
from . import demo_database_tour as test_demo_database_tour
