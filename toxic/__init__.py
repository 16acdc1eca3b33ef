"""toxic: an offline, fast toxic-comment classifier (int8 ONNX, two labels: toxic and hate)."""

from toxic.errors import DataError, InputError, ModelError, ToxicError

__all__ = ["Classifier", "DataError", "InputError", "ModelError", "ToxicError", "LABELS"]
__version__ = "0.1.0"

LABELS = ("toxic", "hate")


def __getattr__(name: str):
    # Classifier pulls in onnxruntime; import it on first use so `toxic data verify` stays instant.
    if name == "Classifier":
        from toxic.classifier import Classifier

        return Classifier
    raise AttributeError(name)
