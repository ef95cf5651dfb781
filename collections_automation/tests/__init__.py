from . import test_access
from . import test_engine
from . import test_engine_concurrency
from . import test_enrollment
from . import test_process_validation
from . import test_segment_rules
from . import test_tours
from . import test_views
