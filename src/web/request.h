/* request.h - the one request/response shape every front end fills.
 * Layer: web. Trust: every field of a request is UNTRUSTED browser input. */
#ifndef POSTERN_WEB_REQUEST_H
#define POSTERN_WEB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "core/arena.h"
#include "core/attr.h"
#include "core/err.h"

struct web_app;
struct session;
struct session_key;

struct kv {
    const char *name;  /* header names are lower-cased */
    const char *value;
    size_t value_len;  /* form values may hold any byte but NUL */
};

struct kv_list {
    struct kv *items;  /* arena-owned */
    size_t n, cap;
};

struct request {
    struct arena *arena;        /* everything below lives here */
    const struct web_app *app;
    long long start_us;         /* monotonic, for the access log */

    const char *method;         /* "GET", "POST", ... */
    const char *raw_uri;        /* as sent: path?query */
    const char *path;           /* decoded, below base_path, starts '/' */
    struct kv_list query;       /* decoded query parameters, in order */
    struct kv_list headers;     /* lower-case names */
    size_t header_bytes;        /* names + values, for the header cap */
    struct kv_list cookies;     /* parsed lazily by request_cookie() */
    bool cookies_parsed;
    const unsigned char *body;  /* NULL when none */
    size_t body_len;
    /* Who postern serves: as the front end saw the peer, then as a
     * trusted proxy told (request_client.h); read them through
     * request_client_addr() and request_client_is_https(). */
    const char *client_addr;    /* "127.0.0.1", never NULL */
    bool is_https;
    const char *peer_addr;      /* the socket's peer, kept; NULL before */
    bool client_resolved;       /* request_client_resolve() has run */
    struct kv_list form;        /* urlencoded body, by request_parse_form */
    bool form_parsed;
    struct session *session;    /* set by auth_require(); released with */
    struct session_key *session_key; /* the arena, the key wiped */
};

/* A body producer for streamed responses: fills buf with up to max bytes,
 * returns the count, 0 at the end, -1 on error (the front end aborts the
 * connection). Called from the front end's thread after the handler. */
typedef ssize_t response_stream_fn(void *ctx, char *buf, size_t max);

struct response {
    int status;
    struct kv_list headers;     /* in the order they go out */
    GString *body;              /* arena-deferred; NULL if streamed */
    response_stream_fn *stream;
    void *stream_ctx;
    long long stream_len;       /* -1 when unknown */
};

/* Zeroes req and ties it to arena and app. */
void request_init(struct request *req, struct arena *arena,
                  const struct web_app *app);

/* Sets method and raw URI, splitting path from query and decoding both.
 * base_path is stripped from the path; a path outside it, a bad %-escape,
 * an encoded NUL, or a URL over LIM_HTTP_URL is an error (ERR_NOT_FOUND
 * for outside the base, ERR_LIMIT for length, else ERR_INPUT). */
ATTR_NODISCARD int request_set_uri(struct request *req, const char *method,
                                   const char *raw_uri, struct err *err);

/* Adds a header (name lower-cased). Fails with ERR_LIMIT when the headers
 * together pass max_bytes or LIM_HTTP_HEADER_COUNT. */
ATTR_NODISCARD int request_add_header(struct request *req, const char *name,
                                      const char *value, size_t max_bytes,
                                      struct err *err);

/* The first header of that (lower-case) name, or NULL. */
const char *request_header(const struct request *req, const char *name);

/* The first query parameter of that name, or NULL. */
const char *request_query(const struct request *req, const char *name);

/* The cookie of that name, or NULL. */
const char *request_cookie(struct request *req, const char *name);

/* Parses an application/x-www-form-urlencoded body into req->form (once).
 * Another content type is ERR_INPUT; a body over max_body_bytes never gets
 * here (the front end refused it). */
ATTR_NODISCARD int request_parse_form(struct request *req, struct err *err);

/* The first form field of that name, or NULL (parse the form first). */
const char *request_form_get(const struct request *req, const char *name);

/* Query parameters, validated. A missing optional one gets its default;
 * a present but malformed one is ERR_INPUT naming the parameter. */
ATTR_NODISCARD int request_param_uint(const struct request *req,
                                      const char *name, unsigned dflt,
                                      unsigned min, unsigned max,
                                      unsigned *out, struct err *err);
/* A message id (store_id_is_valid: 1 to STORE_ID_MAX printable ASCII
 * bytes, no space): required. *out points into the request. */
ATTR_NODISCARD int request_param_id(const struct request *req,
                                    const char *name, const char **out,
                                    struct err *err);
/* A flag: absent, "" or "0" is false; "1" is true; else ERR_INPUT. */
ATTR_NODISCARD int request_param_bool(const struct request *req,
                                      const char *name, bool *out,
                                      struct err *err);
/* A folder path: required, UTF-8, at most 1000 bytes, no control bytes. */
ATTR_NODISCARD int request_param_folder(const struct request *req,
                                        const char *name, const char **out,
                                        struct err *err);
/* Free text (search): optional (NULL), UTF-8, at most max bytes. */
ATTR_NODISCARD int request_param_text(const struct request *req,
                                      const char *name, size_t max,
                                      const char **out, struct err *err);

/* True when the client asked for JSON: "Accept: application/json" or the
 * query parameter format=json. */
bool request_wants_json(const struct request *req);

/* Appends to a list; strings must already be arena-owned. */
void kv_list_add(struct arena *a, struct kv_list *list, const char *name,
                 const char *value, size_t value_len);
const char *kv_list_get(const struct kv_list *list, const char *name);

/* Response helpers. Header values must not hold CR or LF (xassert). */
void response_init(struct response *resp, struct arena *arena);
void response_set_header(struct response *resp, struct arena *a,
                         const char *name, const char *value);
const char *response_header(const struct response *resp, const char *name);

#endif
