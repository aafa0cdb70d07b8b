"""Datastores: list, create, inspect (settings, credential, default, delete) and browse their files.

Deep links: ``?name=DS`` opens a datastore, ``&path=sub/dir`` a folder in it, ``&file=sub/dir/a.csv``
a file (preview and download). A credential is typed into a password field, sent to the service and
cleared from the form at once: the page never shows it again, only that one is set. The views are in
``studio.ui.datastores``.
"""

from studio.ui import widgets
from studio.ui.datastores.detail import detail
from studio.ui.datastores.listing import listing

widgets.list_or_detail("Datastores", listing, detail)
