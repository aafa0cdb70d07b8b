"""The Datastores page's views: the list and the create form, one datastore's settings, and its files."""
