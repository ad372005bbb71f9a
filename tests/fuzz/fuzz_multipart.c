/* fuzz_multipart.c - libFuzzer harness for multipart/form-data bodies:
 * small caps so every limit is reachable; asserts the contract of
 * form_multipart.h, that each spooled file holds exactly its size, and
 * that freeing the arena leaves no file behind. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/arena.h"
#include "core/limits.h"
#include "fuzz.h"
#include "web/form_multipart.h"

static char *spool;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_mime_init(); /* main() does it before any request */
    spool = g_dir_make_tmp("fuzz-multipart-XXXXXX", NULL);
    xassert(spool != NULL);
    return 0;
}

static size_t
spool_entries(void)
{
    DIR *d = opendir(spool);
    struct dirent *e;
    size_t n = 0;

    xassert(d != NULL);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The input's first line is the Content-Type value; the rest the body. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_FIELD = 256, MAX_FILE = 1024, MAX_TOTAL = 2048 };
    const uint8_t *nl = memchr(data, '\n', size);
    struct arena *a;
    struct kv_list fields = {0};
    struct form_file *files = NULL;
    size_t n_files = 0, head;
    char *ct;
    struct err err = {0};
    uint64_t total = 0;

    if (nl == NULL)
        return 0;
    head = (size_t)(nl - data);
    ct = g_strndup((const char *)data, head);
    a = arena_new(4096);
    if (form_parse_multipart(a, ct, data + head + 1, size - head - 1, spool,
                             MAX_FIELD, MAX_FILE, MAX_TOTAL, &fields, &files,
                             &n_files, &err) < 0) {
        xassert(err.kind == ERR_INPUT || err.kind == ERR_LIMIT ||
                err.kind == ERR_INTERNAL);
        xassert(err.kind != ERR_INTERNAL); /* the spool is writable */
        xassert(err.msg[0] != '\0');
    } else {
        xassert(fields.n + n_files <= LIM_FORM_FIELDS);
        xassert((files == NULL) == (n_files == 0));
        for (size_t i = 0; i < fields.n; i++) {
            xassert(fields.items[i].value_len <= MAX_FIELD);
            xassert(strlen(fields.items[i].value) ==
                    fields.items[i].value_len);
        }
        for (size_t i = 0; i < n_files; i++) {
            struct stat st;

            xassert(files[i].size <= MAX_FILE);
            total += files[i].size;
            xassert(strpbrk(files[i].filename, "/\\") == NULL);
            xassert(g_utf8_validate(files[i].filename, -1, NULL));
            xassert(files[i].field != NULL && files[i].content_type != NULL);
            xassert(stat(files[i].path, &st) == 0);
            xassert((uint64_t)st.st_size == files[i].size);
            xassert((st.st_mode & 077) == 0); /* private */
        }
        xassert(total <= MAX_TOTAL);
    }
    arena_free(&a);
    xassert(spool_entries() == 0); /* every spooled file went with it */
    g_free(ct);
    return 0;
}
