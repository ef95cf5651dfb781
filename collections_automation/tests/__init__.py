from . import (
    test_access,
    test_engine,
    test_enrollment,
    test_process_validation,
    test_segment_rules,
    test_tour_menu,
    test_views,
)
