"""Rotten Potatoes applications: the prediction service (backend) and the web page (frontend)."""
