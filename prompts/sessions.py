"""The session engine (settings.SESSION_ENGINE): Django's database sessions, read in one plain query.

Every logged-in request reads its session first. Django's store builds that read with the ORM each
time (`Session.objects.get(session_key=..., expire_date__gt=now)`), and building it costs several
times what PostgreSQL takes to answer it: a third of the CPU of a processing page's long poll
(bench/status_load.py). The same query, written once, for the same row; everything else (saving,
expiry, the cookie, the signed data) is Django's.
"""

import functools

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_load_sql(self.model, alias), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:  # no such session, or it has expired: as Django's, the key is forgotten
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])


@functools.cache
def _load_sql(model, alias: str) -> str:
    quote = connections[alias].ops.quote_name
    key, data, expires = (
        quote(model._meta.get_field(name).column) for name in ("session_key", "session_data", "expire_date")
    )
    return f"SELECT {data} FROM {quote(model._meta.db_table)} WHERE {key} = %s AND {expires} > %s"
