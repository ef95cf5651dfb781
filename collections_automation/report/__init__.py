from . import collection_analysis
