/* stash.h - uploaded attachments kept on disk for one session between a
 * form that failed (bad address, mail server down) and the form shown
 * again, so nothing the user attached is lost. Layer: web. Trust: tokens
 * come back from the browser: only well-formed ones of this session's
 * own folder are read. */
#ifndef POSTERN_WEB_STASH_H
#define POSTERN_WEB_STASH_H

#include <stdint.h>

#include "core/err.h"
#include "web/form_multipart.h"
#include "web/request.h"

struct stash_item {
    const char *token;        /* 43 base64url characters */
    const char *filename;
    const char *content_type;
    const char *path;         /* the bytes */
    uint64_t size;
};

/* The folder uploads are spooled to first (same file system as the
 * stash, so keeping a file is a rename). Created 0700 when missing. */
const char *stash_spool_dir(void);

/* Keeps an uploaded file for the request's session; fills out. */
ATTR_NODISCARD int stash_put(struct request *req, const struct form_file *f,
                             struct stash_item *out, struct err *err);

/* A kept file by token; ERR_NOT_FOUND when it is not this session's. */
ATTR_NODISCARD int stash_get(struct request *req, const char *token,
                             struct stash_item *out, struct err *err);

/* Forgets one kept file, or all of the session's (token NULL). */
void stash_drop(struct request *req, const char *token);

#endif
