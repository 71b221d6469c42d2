"""A client of the clickstream feature server, on the Python standard library only.

    from clickstream_client import FeatureClient
    client = FeatureClient("http://127.0.0.1:8080")
    client.features("ctr_5min", ["u1", "u2"])   # one answer per id: status, features, times
    client.vector("ranking_v1", "u1")           # a feature service's vector: view.column -> value, views' status
    client.registry()                           # every view and service with its declaration

Answers are the server's JSON as dicts and lists. An entity without a row is an answer with status
"not_found"; a refused request (unknown view, bad id, store down) raises FeatureServerError with the
server's status and message; a server that cannot be reached raises it with status 0.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["FeatureClient", "FeatureServerError"]

#: Most ids the server takes in one request.
MAX_IDS = 1000


class FeatureServerError(Exception):
    """A request the feature server refused (status 400, 404, 413, 503, ...) or that never reached it (0)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class FeatureClient:
    """Feature vectors from one feature server, such as FeatureClient("http://127.0.0.1:8080")."""

    def __init__(self, base_url, timeout=10.0):
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("the server's address must be http://HOST:PORT, got %r" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def features(self, view, ids):
        """The features of `view` for each id, in order (POST /features/{view})."""
        return self._post("/features/" + _segment(view), ids)["results"]

    def feature(self, view, entity_id):
        """The features of `view` for one id: its status, features and times."""
        return self.features(view, [entity_id])[0]

    def vector(self, service, entity_id):
        """The vector of feature service `service` for one id (GET /vectors/{service}/{id})."""
        return self._send("GET", "/vectors/" + _segment(service) + "/" + _segment(entity_id))

    def vectors(self, service, ids):
        """The vectors of feature service `service`, one per id, in order (POST /vectors/{service})."""
        return self._post("/vectors/" + _segment(service), ids)["results"]

    def registry(self):
        """Every view and feature service the server answers, with its declaration (GET /registry)."""
        return self._send("GET", "/registry")

    def _post(self, path, ids):
        if isinstance(ids, str):
            raise TypeError("ids must be a list of ids, not one string: use [%r]" % (ids,))
        return self._send("POST", path, json.dumps(list(ids)).encode("utf-8"))

    def _send(self, method, path, body=None):
        url = self.base_url + path
        request = urllib.request.Request(url, data=body, method=method, headers={"Accept": "application/json"})
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except ValueError:
                message = "%s %s answered %d without JSON: is %s a clickstream feature server?" % (
                    method, url, error.code, self.base_url)
            raise FeatureServerError(error.code, message) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise FeatureServerError(0, "cannot reach the feature server at %s (%s); is it running?"
                                        " (./clickstream serve)" % (self.base_url, reason)) from None


def _segment(value):
    """A path segment: names and ids are percent-encoded, never read as a path."""
    return urllib.parse.quote(value, safe="")
