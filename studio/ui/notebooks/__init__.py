"""The Notebooks page's views: the file tree and its actions, a notebook's render and Run as job, and the
compute instance panel with JupyterLab."""
