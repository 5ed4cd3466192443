"""Backup and restore of an instance (docs/operations.md): its database, its data folder (the
media folder, report evidence, the secrets) and its SQLite job queue, in one folder or one .tar.

A backup holds:

    manifest.json      what is in it: versions, the schema's revision, every file's size and sha256
    database.sqlite3   the SQLite database, copied with SQLite's online backup API, or
    database.pgdump    `pg_dump --format=custom` of the PostgreSQL database
    jobs.sqlite3       the SQLite job queue (scheduled reminders), copied the same way, if any
    data/...           the rest of the data folder as it is: media/ (replay links stay links),
                       reports/, media-url-secret, vapid-private.pem

The manifest is written last: a backup without one is incomplete. A restore checks every file
against it before it writes anything.
"""
