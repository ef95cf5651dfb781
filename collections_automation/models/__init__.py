from . import (
    account_move,
    account_move_line,
    collection_demo_loader,
    collection_engine,
    collection_enrollment,
    collection_event,
    collection_process,
    collection_segment_rule,
    collection_stage,
    payment_transaction,
    res_company,
    res_partner,
)
