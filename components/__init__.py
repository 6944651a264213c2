"""Streamlit building blocks the pages wire together; the only layer that imports both streamlit and model_backend."""
