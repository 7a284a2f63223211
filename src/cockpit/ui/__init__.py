"""The screen: a thin Textual layer that renders the session state and turns keys into intents."""

MIN_WIDTH, MIN_HEIGHT = 80, 24
"""The smallest terminal in which the cockpit can show what matters."""
