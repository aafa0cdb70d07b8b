"""Widgets and helpers shared by the Streamlit pages."""
