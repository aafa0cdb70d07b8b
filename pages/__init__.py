"""Streamlit pages, one per area (``studio/app.py`` lists them with ``st.navigation``).

A package only so that the import contract (``lint-imports``, pyproject.toml) checks them too.
"""
