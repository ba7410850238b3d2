"""Sign-in for the people who run Accord (README "Signing in").

- policy.py: the one list of public routes, and the role everything else needs;
- guard.py: the middleware create_app puts around the whole app, API included;
- sessions.py: server-side sessions (only a hash of the cookie is stored);
- oidc.py: the organisation's identity provider (OpenID Connect, Authlib);
- local.py: the embedded default's one-time local operator link;
- routes.py: the sign-in, callback, local-link and sign-out routes.

Signatories and stakeholders need none of this: their signed action links (/a/...) are
their way in, and stay public.
"""

from accord.web.auth.guard import PERSON, SignInRequired, person_of
from accord.web.auth.routes import page_context, router
from accord.web.auth.sessions import Person

__all__ = ["PERSON", "Person", "SignInRequired", "page_context", "person_of", "router"]
