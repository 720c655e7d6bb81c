"""Django's SQLite backend, creating the database file's directory on first connect.

The default database is a file under var/; settings no longer create var/ when
they are imported, so the connection that writes the file makes its directory.
ENGINE = "summarizer_project.sqlite3" (base settings swap it in for SQLite URLs).
"""
