"""The Streamlit web page of Rotten Potatoes (``streamlit run app/frontend/app.py``)."""
