/* stash.c - per-session upload folders under the spool directory.
 * Layer: web. Each kept file is TOKEN.data with TOKEN.meta beside it
 * (filename and type, one per line). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "core/cfg.h"
#include "session/session.h"
#include "web/app.h"
#include "web/stash.h"

const char *
stash_spool_dir(void)
{
    static gsize once;
    static char *dir;

    if (g_once_init_enter(&once)) {
        dir = g_strdup_printf("%s/postern-spool-%u", g_get_tmp_dir(),
                              (unsigned)getuid());
        if (g_mkdir_with_parents(dir, 0700) != 0)
            g_warning("cannot create %s: %s", dir, g_strerror(errno));
        g_once_init_leave(&once, 1);
    }
    return dir;
}

static char *
stash_session_dir(struct request *req)
{
    const unsigned char *h = session_id_hash(req->session);
    char hex[2 * 16 + 1];

    /* half the id hash is plenty to keep sessions apart on disk */
    for (size_t i = 0; i < 16; i++)
        g_snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return g_build_filename(stash_spool_dir(), hex, NULL);
}

/* Sessions that expired (rather than logged out) leave their folder
 * behind: at most every ten minutes, folders untouched for longer than a
 * session can live go. */
static void
stash_sweep(unsigned session_max)
{
    static gint64 last;
    static GMutex lock;
    gint64 now = g_get_real_time();
    const char *base = stash_spool_dir();
    GDir *d;
    const char *e;

    g_mutex_lock(&lock);
    if (now - last < 600 * G_USEC_PER_SEC) {
        g_mutex_unlock(&lock);
        return;
    }
    last = now;
    g_mutex_unlock(&lock);
    d = g_dir_open(base, 0, NULL);
    while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
        char *dir = g_build_filename(base, e, NULL);
        GStatBuf st;

        if (g_stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
            (gint64)st.st_mtime * G_USEC_PER_SEC <
                now - (gint64)session_max * G_USEC_PER_SEC) {
            GDir *sd = g_dir_open(dir, 0, NULL);
            const char *f;

            while (sd != NULL && (f = g_dir_read_name(sd)) != NULL) {
                char *p = g_build_filename(dir, f, NULL);

                g_unlink(p);
                g_free(p);
            }
            if (sd != NULL)
                g_dir_close(sd);
            g_rmdir(dir);
        }
        g_free(dir);
    }
    if (d != NULL)
        g_dir_close(d);
}

int
stash_put(struct request *req, const struct form_file *f,
          struct stash_item *out, struct err *err)
{
    char token[SESSION_CSRF_LEN + 1];
    char *dir = stash_session_dir(req), *data, *meta, *text;
    GError *gerr = NULL;
    int rc = -1;

    stash_sweep(req->app->cfg->session_max);
    if (session_token_new(token, err) < 0) {
        g_free(dir);
        return -1;
    }
    data = g_strdup_printf("%s/%s.data", dir, token);
    meta = g_strdup_printf("%s/%s.meta", dir, token);
    text = g_strdup_printf("%s\n%s\n", f->filename, f->content_type);
    if (g_mkdir_with_parents(dir, 0700) != 0 || rename(f->path, data) != 0) {
        err_set(err, ERR_INTERNAL, "keeping an upload in %s: %s", dir,
                g_strerror(errno));
    } else if (!g_file_set_contents(meta, text, -1, &gerr)) {
        err_set(err, ERR_INTERNAL, "%s", gerr->message);
        g_error_free(gerr);
        g_unlink(data);
    } else {
        out->token = arena_strdup(req->arena, token);
        out->filename = arena_strdup(req->arena, f->filename);
        out->content_type = arena_strdup(req->arena, f->content_type);
        out->path = arena_strdup(req->arena, data);
        out->size = f->size;
        rc = 0;
    }
    g_free(text);
    g_free(meta);
    g_free(data);
    g_free(dir);
    return rc;
}

int
stash_get(struct request *req, const char *token, struct stash_item *out,
          struct err *err)
{
    char *dir, *data, *meta, *text = NULL;
    char **lines;
    GStatBuf st;
    int rc = -1;

    if (!session_token_is_wellformed(token)) {
        err_set(err, ERR_INPUT, "malformed attachment token");
        return -1;
    }
    dir = stash_session_dir(req);
    data = g_strdup_printf("%s/%s.data", dir, token);
    meta = g_strdup_printf("%s/%s.meta", dir, token);
    if (g_stat(data, &st) != 0 ||
        !g_file_get_contents(meta, &text, NULL, NULL)) {
        err_set(err, ERR_NOT_FOUND, "an attachment kept earlier is gone");
    } else {
        lines = g_strsplit(text, "\n", 3);
        out->token = arena_strdup(req->arena, token);
        out->filename = arena_strdup(req->arena, lines[0] ? lines[0] : "");
        out->content_type = arena_strdup(
            req->arena, lines[0] && lines[1] && *lines[1]
                            ? lines[1]
                            : "application/octet-stream");
        out->path = arena_strdup(req->arena, data);
        out->size = (uint64_t)st.st_size;
        g_strfreev(lines);
        rc = 0;
    }
    g_free(text);
    g_free(meta);
    g_free(data);
    g_free(dir);
    return rc;
}

void
stash_drop(struct request *req, const char *token)
{
    char *dir = stash_session_dir(req);

    if (token != NULL && session_token_is_wellformed(token)) {
        char *p = g_strdup_printf("%s/%s.data", dir, token);

        g_unlink(p);
        g_free(p);
        p = g_strdup_printf("%s/%s.meta", dir, token);
        g_unlink(p);
        g_free(p);
    } else if (token == NULL) {
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *e;

        while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
            char *p = g_build_filename(dir, e, NULL);

            g_unlink(p);
            g_free(p);
        }
        if (d != NULL)
            g_dir_close(d);
        g_rmdir(dir);
    }
    g_free(dir);
}
