"""The ceiling for the submission benchmark: a bare Flask app with one constant endpoint.

It answers the same `POST /f/demo` the benchmark sends to listserver, without reading
the body, touching a database or rendering a template, so the difference between the
two is what listserver itself costs per submission. Run with `gunicorn bare_app:app`.
"""

from flask import Flask

app = Flask(__name__)

BODY = "<!doctype html><title>Check your inbox</title><p>Check your inbox</p>\n"


@app.route("/f/<slug>", methods=["GET", "POST"])
def submit(slug: str):
    return BODY
