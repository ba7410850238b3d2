"""The web app's pages, one router per concern, each made by ``router(site)``:

- ``health``: /healthz and /readyz (public: load balancers and orchestrators);
- ``dashboard``: / (every partnership, stuck ones first);
- ``partnership``: /p/<workflow id> (status) and /p/<workflow id>/mou/<version>;
- ``mou_revision``: /p/<workflow id>/mou/revise (ops answer a request for changes on the MOU);
- ``outbox``: /outbox (the local file outbox, when mail goes there);
- ``links``: /a/<token> (the signed action links in emails: show on GET, act on POST).
"""
