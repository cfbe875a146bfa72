# SPDX-License-Identifier: ISC
"""A real HTTP server on loopback that answers http-01 requests from a
dict of token -> body, optionally after a delay (to keep a validation in
flight) or with a wrong body (to make one fail).  A body of the form
"REDIRECT <url>" answers 302 to url; /moved/<token> serves the token too."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Responder:
    def __init__(self, port):
        self.tokens = {}
        self.delay = 0.0
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                prefix = "/.well-known/acme-challenge/"
                token = self.path[len(prefix):] if self.path.startswith(prefix) else None
                if outer.delay:
                    time.sleep(outer.delay)
                body = outer.tokens.get(token)
                if body is not None and body.startswith("REDIRECT "):
                    self.send_response(302)
                    self.send_header("Location", body[len("REDIRECT "):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if body is None and self.path.startswith("/moved/"):
                    body = outer.tokens.get(self.path[len("/moved/"):])
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
