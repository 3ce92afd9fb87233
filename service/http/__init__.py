"""HTTP: the Starlette app, the webhook targets, the admin and read API, errors and OpenAPI."""
