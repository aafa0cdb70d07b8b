"""The Models page's views: the list, a version (card, lineage, files), the Register forms."""
