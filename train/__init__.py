"""Training: fine-tune, export, quantize, push. Imports torch, transformers and optimum."""
