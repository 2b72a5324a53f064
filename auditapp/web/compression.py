"""Compressed answers (zstd, brotli or gzip, as the browser offers) in every mode, by the app itself.

Flask-Compress does the encoding; this module decides what reaches it. It is registered first, so it
runs after every other after_request and sees the finished response.
  - A response that already has a Content-Encoding (a view or a proxy compressed it) is left alone.
  - Images and photos are not in COMPRESS_MIMETYPES: they are compressed already.
  - Static files (scripts, styles) are read whole and compressed like pages. Flask-Compress's own
    streaming mode never closes the file it streams (a file handle per request until garbage
    collection), so it is off, and other streamed answers go out as they are.
  - A partial answer (206, a Range request) is sent as it is: compressing a slice breaks it.
"""

from flask import Flask, Response, request

from ..extensions import compress


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_REGISTER", False)  # compress_response below calls it
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)
    app.after_request(compress_response)


def compress_response(response: Response) -> Response:
    """after_request: hand the response to Flask-Compress when compressing it is safe and useful."""
    if response.status_code == 206:
        return response
    if request.endpoint == "static" and response.is_streamed and response.mimetype in compress.compress_mimetypes_set:
        # Static text files are small (the largest, htmx, is 50 KB); the file is closed with the response.
        response.direct_passthrough = False
        response.make_sequence()
    return compress.after_request(response)
