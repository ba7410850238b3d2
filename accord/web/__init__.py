"""The web app: action links from emails, a dashboard, status pages and the local outbox.

Server-rendered pages only. GET and HEAD never change anything (mail scanners fetch
every link); only a POST from a form with a valid CSRF value acts, and it acts through
the same client updates, and so the same validation, as every other interface.
"""
