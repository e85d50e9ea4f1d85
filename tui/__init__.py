"""The terminal app (`ftdoctor tui`, `ftdoctor check --tui`), installed as `ftdoctor.tui`.

Layout, as in the good Textual apps: `data/` holds the view models and the runners seam and never imports
Textual; `app/` builds the app from explicit inputs (`make_app`); `screens/`, `widgets/` and `dialogs/`
hold the UI, with stylesheets in `.tcss` files beside them. Importing this package imports nothing.
"""
