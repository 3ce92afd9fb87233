"""The operations console at /ui: HTML pages over the queries the JSON API answers with."""
