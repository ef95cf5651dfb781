from . import collection_demo_loader, collection_process, collection_stage
