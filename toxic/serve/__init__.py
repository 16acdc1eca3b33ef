"""The app tier: settings-driven service, HTTP routes, telemetry and the Gradio UI (extra: app)."""
