"""The API's schemas, one module per resource: each validates a request's input and describes
an answer, and ninja builds the OpenAPI document from them (``mlcontest.api.app``)."""
