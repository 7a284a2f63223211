"""The screen: a thin Textual layer that renders the session state and turns keys into intents."""
