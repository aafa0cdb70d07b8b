"""Views of the Endpoints page (``pages/endpoints.py``)."""
