"""End-to-end tests: JupyterLab and the slide decks in headless Chromium."""
