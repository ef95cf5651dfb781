from . import collection_engine
