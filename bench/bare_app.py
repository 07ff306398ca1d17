"""The baseline for bench/ingest.py: a Flask endpoint that parses the JSON body and answers 200."""

from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/hooks/vtex/<store_name>/<kind>")
def bare(store_name: str, kind: str):
    request.get_json()
    return jsonify({"status": "accepted"}), 200
