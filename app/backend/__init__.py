"""The prediction service: ``uvicorn --factory app.backend.main:create_app``."""
