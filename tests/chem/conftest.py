# The reference script imports GuacaMol and TDC, which only its throwaway venv has.
collect_ignore = ["data/make_reference_scores.py"]
