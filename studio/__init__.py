"""Studio: the Streamlit UI, the ``studio`` CLI and the Python SDK."""

__version__ = "0.1.0"
