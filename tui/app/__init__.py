"""The app and its factory: `make_app(AppInputs(...))`."""
