"""toxic: the Gradio app. Layout and event wiring only; the work lives in toxic/ (service.py does the scoring).

    python app.py                      # http://127.0.0.1:7860 (GRADIO_SERVER_NAME=0.0.0.0 to listen on all)
    TOXIC_MODEL=org/name python app.py # another model: a directory or a Hub repo id (settings: toxic/settings.py)

Named API endpoints (see "Use via API" in the footer): /classify (batched), /classify_batch, /explain, /score_csv.
Plain HTTP: GET /healthz, GET /metrics, POST /api/v1/classify (toxic/serve/server.py).
"""

if __name__ == "__main__":  # before Gradio's import: it would import packages this app never uses
    from toxic.serve.startup import prepare_process

    prepare_process()

from toxic.serve.launch import main  # noqa: E402 (after prepare_process)
from toxic.serve.ui import build  # noqa: E402,F401 (tests and notebooks build the UI from here)

if __name__ == "__main__":
    main()
