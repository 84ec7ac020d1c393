"""The course's gradebook: runs, results per check, adjustments, submission times.

``book`` keeps them (SQLite or a server database, ``schema`` its versions),
``final`` turns a result into the grade reports show, ``history`` tells a student's
story over runs.
"""
