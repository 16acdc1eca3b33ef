"""Batch scoring on Apache Beam: ``toxic beam`` (cli.py) builds the pipeline (pipeline.py) that reads comment files
(io.py) and scores them with RunInference and our model handler (handler.py). Needs the ``beam`` extra
(``./tasks.sh setup-beam``: its own environment, .venv-beam); nothing else in ``toxic`` imports this package."""
